"""Symmetric InfoNCE (the CLAP / CLIP loss) with a learnable, clamped temperature."""

import math
from typing import Dict, Tuple

import torch
import torch.nn.functional as F

from espnet2_slap.losses.abs_contrastive_loss import AbsContrastiveLoss, in_batch_accuracy


class InfoNCELoss(AbsContrastiveLoss):
    """``L = (CE(s * A T^T, I) + CE(s * T A^T, I)) / 2`` with ``s = 1 / temperature``.

    The temperature is learned as ``log(1 / temperature)`` and clamped from below at
    ``min_temperature`` (CLIP clamps the logit scale at 100, i.e. 0.01).

    Args:
        init_temperature: starting temperature.
        min_temperature: lower bound of the temperature.
        learnable_temperature: False keeps it fixed at ``init_temperature``.
    """

    def __init__(
        self,
        init_temperature: float = 0.07,
        min_temperature: float = 0.01,
        learnable_temperature: bool = True,
    ):
        super().__init__()
        if not 0 < min_temperature <= init_temperature:
            raise ValueError(
                f"need 0 < min_temperature ({min_temperature}) <= init_temperature ({init_temperature})"
            )
        self.log_inv_temperature = torch.nn.Parameter(
            torch.tensor(math.log(1.0 / init_temperature)), requires_grad=learnable_temperature
        )
        self.max_log_inv_temperature = math.log(1.0 / min_temperature)

    def forward(
        self, audio: torch.Tensor, text: torch.Tensor
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        scale = self.log_inv_temperature.clamp(max=self.max_log_inv_temperature).exp()
        logits = scale * audio @ text.t()  # (B, B): audio i vs text j
        target = torch.arange(logits.size(0), device=logits.device)
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2
        acc_a2t, acc_t2a = in_batch_accuracy(logits)
        stats = dict(temperature=(1.0 / scale).detach(), acc_a2t=acc_a2t, acc_t2a=acc_t2a)
        return loss, stats
