"""L_SSL: masked patch self-distillation from an EMA teacher (paper section 2.2.2).

The student encodes the clip with a random half of its patch tokens replaced by the mask
token (:meth:`MaskedDistillationObjective.masked_student_pass`, which the model calls first:
in ``shared`` mode that pass feeds every loss); the teacher (an exponential moving average of
student encoder + head) encodes the unmasked clip without gradients. Both go through the
projection head to prototype scores and the student is trained to match the teacher's
centred, sharpened distribution on the masked tokens (:class:`PatchDistillationLoss`,
iBOT / DINOv2).
"""

from typing import Dict, NamedTuple, Optional, Tuple

import torch

from espnet2_slap.audio.abs_audio_encoder import AbsAudioEncoder
from espnet2_slap.layers.packed_batch import PackedBatch
from espnet2_slap.ssl.patch_loss import PatchDistillationLoss
from espnet2_slap.ssl.head import SSLProjectionHead
from espnet2_slap.ssl.ema_teacher import EMATeacher
from espnet2_slap.ssl.token_masking import random_token_mask


class MaskedStudentPass(NamedTuple):
    """The student encoder's pass on the masked input."""

    tokens: PackedBatch  # (N, D) packed student tokens
    token_mask: torch.Tensor  # (N,) bool, True = masked (replaced by the mask token)
    masked_values: torch.Tensor  # (M, D) the rows of ``tokens`` at the masked positions


class MaskedDistillationObjective(torch.nn.Module):
    """The L_SSL objective (``ssl: masked_distillation``): student head, EMA teacher
    (encoder + head) and the patch loss.

    The student encoder is not owned here (it belongs to the model); it is passed to
    :meth:`forward`. The teacher (:class:`EMATeacher`) follows the encoder and this head; how
    it is started, stepped and restarted is all in :mod:`espnet2_slap.ssl.ema_teacher`.

    Args:
        audio_encoder: the student encoder, copied to initialise the teacher.
        mask_ratio: fraction of each clip's tokens replaced by the mask token (0.5).
        momentum_start, momentum_end: EMA momentum schedule (0.994 -> 1.0, cosine).
        head_conf: :class:`SSLProjectionHead` options (hidden/bottleneck sizes, prototypes).
        loss_conf: :class:`PatchDistillationLoss` options (temperatures, centering).
    """

    def __init__(
        self,
        audio_encoder: AbsAudioEncoder,
        mask_ratio: float = 0.5,
        momentum_start: float = 0.994,
        momentum_end: float = 1.0,
        head_conf: Optional[Dict] = None,
        loss_conf: Optional[Dict] = None,
    ):
        super().__init__()
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in (0, 1), got {mask_ratio}")
        self.mask_ratio = mask_ratio
        self.head = SSLProjectionHead(audio_encoder.output_size(), **(head_conf or {}))
        # the modules the teacher mirrors, in a fixed order
        student = torch.nn.ModuleDict(dict(encoder=audio_encoder, head=self.head))
        self.teacher = EMATeacher(student, start=momentum_start, end=momentum_end)
        # attribute name kept as ``loss``: it is part of saved state-dict keys
        self.loss = PatchDistillationLoss(self.head.num_prototypes, **(loss_conf or {}))

    def masked_student_pass(
        self, audio_encoder: AbsAudioEncoder, feats: torch.Tensor, feats_lengths: torch.Tensor
    ) -> MaskedStudentPass:
        """The student encodes ``(B, T, F)`` features with a random ``mask_ratio`` of each
        clip's tokens masked."""
        num_tokens = audio_encoder.num_tokens(feats_lengths)  # (B,)
        token_mask = random_token_mask(num_tokens, self.mask_ratio).to(feats.device)
        tokens = audio_encoder(feats, feats_lengths, token_mask=token_mask)
        # Gathered here, right after the pass: this fixes the order in which autograd sums
        # the gradients of ``tokens`` in shared mode (seeded runs stay bit-identical).
        return MaskedStudentPass(tokens, token_mask, tokens.values[token_mask])

    def forward(
        self,
        audio_encoder: AbsAudioEncoder,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        student: MaskedStudentPass,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Teacher pass on the unmasked input and the patch loss on the masked tokens.

        Args:
            audio_encoder: the student encoder (copied into the teacher before training).
            feats: ``(B, T, F)`` normalised features; ``feats_lengths`` ``(B,)``.
            student: the student's pass on the same input, masked (:meth:`masked_student_pass`).

        Returns:
            loss: scalar L_SSL.
            stats: diagnostics of the loss (e.g. teacher entropy) and the EMA momentum.
        """
        if self.training:
            self.teacher.start_from_student()  # only until the first EMA update
        token_mask = student.token_mask
        with torch.no_grad():
            teacher_tokens = self.teacher.module["encoder"](feats, feats_lengths)
            teacher_logits = self.teacher.module["head"](teacher_tokens.values[token_mask])
        student_logits = self.head(student.masked_values)  # (M, K)
        loss, stats = self.loss(
            student_logits,
            teacher_logits,
            student.tokens.segment_ids[token_mask],
            student.tokens.batch_size,
            step=int(self.teacher.step),  # optimizer steps of this run (temperature warm-up)
        )
        if self.teacher.total_steps > 0:  # set once the trainer knows the number of steps
            stats = dict(stats, ema_momentum=torch.tensor(self.teacher.momentum()))
        return loss, stats
