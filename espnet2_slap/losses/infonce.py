"""Symmetric InfoNCE (the CLAP / CLIP loss) with a learnable, clamped temperature."""

from typing import Dict, Tuple

import torch
import torch.nn.functional as F

from espnet2_slap.losses.abs_contrastive_loss import AbsContrastiveLoss, in_batch_accuracy
from espnet2_slap.utils.distributed_gather import gather_rows
from espnet2_slap.losses.logit_scale import ClampedLogitScale
from espnet2_slap.utils.precision import at_least_float32, float32_region


class InfoNCELoss(AbsContrastiveLoss):
    """``L = (CE(s * A T^T, I) + CE(s * T A^T, I)) / 2`` with ``s = 1 / temperature``.

    The temperature is learned as ``log(1 / temperature)`` and clamped from below at
    ``min_temperature`` (CLIP clamps the logit scale at 100, i.e. 0.01). Under data
    parallelism each rank scores its rows against the rows of every rank, so the negatives
    are the whole global batch (as in open_clip's ``gather_with_grad``).

    Args:
        init_temperature: starting temperature.
        min_temperature: lower bound of the temperature.
        learnable_temperature: False keeps it fixed at ``init_temperature``.
        gather_distributed: use the other ranks' rows as negatives.
    """

    def __init__(
        self,
        init_temperature: float = 0.07,
        min_temperature: float = 0.01,
        learnable_temperature: bool = True,
        gather_distributed: bool = True,
    ):
        super().__init__()
        self.logit_scale = ClampedLogitScale(
            init_temperature, min_temperature, learnable=learnable_temperature
        )
        self.gather_distributed = gather_distributed

    def forward(
        self, audio: torch.Tensor, text: torch.Tensor
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        scale = self.logit_scale()
        all_text, offset = gather_rows(text) if self.gather_distributed else (text, 0)
        all_audio, _ = gather_rows(audio) if self.gather_distributed else (audio, 0)
        with float32_region(audio):  # logits up to 100: bf16 would round them by 0.5
            audio, text, scale = map(at_least_float32, (audio, text, scale))
            audio_to_text = scale * audio @ at_least_float32(all_text).t()  # (B, B_total)
            text_to_audio = scale * text @ at_least_float32(all_audio).t()
        target = offset + torch.arange(audio.size(0), device=audio.device)
        loss = (F.cross_entropy(audio_to_text, target) + F.cross_entropy(text_to_audio, target)) / 2
        acc_a2t, acc_t2a = in_batch_accuracy(audio_to_text, text_to_audio, target)
        stats = dict(temperature=(1.0 / scale).detach(), acc_a2t=acc_a2t, acc_t2a=acc_t2a)
        return loss, stats
