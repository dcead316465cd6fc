"""L_SSL: masked patch self-distillation from an EMA teacher (paper section 2.2.2).

The student encodes the clip with a random half of its patch tokens replaced by the mask
token; the teacher (an exponential moving average of student encoder + head) encodes the
unmasked clip without gradients. Both go through the projection head to prototype scores and
the student is trained to match the teacher's centred, sharpened distribution on the masked
tokens (iBOT / DINOv2 patch loss).
"""

from typing import Dict, Optional, Tuple

import torch

from espnet2_slap.audio.abs_audio_encoder import AbsAudioEncoder
from espnet2_slap.layers.packed_batch import PackedBatch
from espnet2_slap.losses.masked_distillation import MaskedDistillationLoss
from espnet2_slap.losses.ssl_head import SSLProjectionHead
from espnet2_slap.train.ema_teacher import EMATeacher
from espnet2_slap.train.token_masking import random_token_mask


class MaskedSelfDistillation(torch.nn.Module):
    """Student head, EMA teacher (encoder + head) and the masked distillation loss.

    The student encoder is not owned here (it belongs to the model); it is passed to
    :meth:`forward` and :meth:`update_teacher`.

    Args:
        audio_encoder: the student encoder, copied to initialise the teacher.
        mask_ratio: fraction of each clip's tokens replaced by the mask token (0.5).
        momentum_start, momentum_end: EMA momentum schedule (0.994 -> 1.0, cosine).
        head_conf: :class:`SSLProjectionHead` options (hidden/bottleneck sizes, prototypes).
        loss_conf: :class:`MaskedDistillationLoss` options (temperatures, centering).
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
        self.teacher = EMATeacher(
            self._student(audio_encoder), start=momentum_start, end=momentum_end
        )
        self.loss = MaskedDistillationLoss(self.head.num_prototypes, **(loss_conf or {}))

    def _student(self, audio_encoder: AbsAudioEncoder) -> torch.nn.ModuleDict:
        """The modules the teacher mirrors, in a fixed order."""
        return torch.nn.ModuleDict(dict(encoder=audio_encoder, head=self.head))

    def forward(
        self,
        audio_encoder: AbsAudioEncoder,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], PackedBatch]:
        """Masked student pass, teacher pass and the loss.

        Args:
            audio_encoder: the student encoder.
            feats: ``(B, T, F)`` normalised features; ``feats_lengths`` ``(B,)``.

        Returns:
            loss: scalar L_SSL.
            stats: diagnostics of the loss (e.g. teacher entropy) and the EMA momentum.
            masked_tokens: the student's packed output on the masked input ``(N, D)``.
        """
        if self.training and int(self.teacher.step) == 0:
            self._start_teacher_from(audio_encoder)
        num_tokens = audio_encoder.num_tokens(feats_lengths)
        token_mask = random_token_mask(num_tokens, self.mask_ratio).to(feats.device)
        masked_tokens = audio_encoder(feats, feats_lengths, token_mask=token_mask)
        with torch.no_grad():
            teacher_tokens = self.teacher.module["encoder"](feats, feats_lengths)
            teacher_logits = self.teacher.module["head"](teacher_tokens.values[token_mask])
        student_logits = self.head(masked_tokens.values[token_mask])
        loss, stats = self.loss(
            student_logits,
            teacher_logits,
            masked_tokens.segment_ids[token_mask],
            masked_tokens.batch_size,
        )
        if self.teacher.total_steps > 0:  # set once the trainer knows the number of steps
            stats = dict(stats, ema_momentum=torch.tensor(self.teacher.momentum()))
        return loss, stats, masked_tokens

    def _start_teacher_from(self, audio_encoder: AbsAudioEncoder) -> None:
        """Copy the student into the teacher until the first EMA update.

        The teacher was copied when the model was built, but ESPnet's ``--init_param`` loads
        weights into the student afterwards (e.g. ``model.pth:audio_encoder:audio_encoder``),
        which would leave the teacher at the random initialisation. The student does not
        change before the first optimizer step, so repeating the copy until then is exact;
        a resumed run has ``step > 0`` and keeps its saved teacher.
        """
        self.teacher.reset_from(self._student(audio_encoder))

    def update_teacher(self, audio_encoder: AbsAudioEncoder) -> None:
        """``teacher = m * teacher + (1 - m) * student`` for encoder and head."""
        self.teacher.update(self._student(audio_encoder))
