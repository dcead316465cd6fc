"""Pairwise sigmoid loss (SigLIP; used by GLAP) with learnable temperature and bias."""

from typing import Dict, Tuple

import torch
import torch.nn.functional as F

from espnet2_slap.losses.abs_contrastive_loss import AbsContrastiveLoss, in_batch_accuracy
from espnet2_slap.utils.distributed_gather import gather_rows
from espnet2_slap.losses.logit_scale import ClampedLogitScale
from espnet2_slap.utils.precision import at_least_float32, float32_region


class SigmoidLoss(AbsContrastiveLoss):
    """Every audio-text pair of the batch is a binary problem: matched (+1) or not (-1).

    ``L = -(1 / B) * sum_ij log sigmoid(y_ij * (s * a_i . t_j + b))`` with ``y_ii = 1`` and
    ``y_ij = -1`` otherwise. SigLIP initialises ``s = 10`` and ``b = -10``. Under data
    parallelism each rank's clips are also scored against every other rank's captions.

    Args:
        init_temperature: starting temperature ``1 / s``.
        init_bias: starting bias ``b``.
        min_temperature: lower bound of the temperature.
        gather_distributed: use the other ranks' captions as negatives.
    """

    def __init__(
        self,
        init_temperature: float = 0.1,
        init_bias: float = -10.0,
        min_temperature: float = 0.01,
        gather_distributed: bool = True,
    ):
        super().__init__()
        self.logit_scale = ClampedLogitScale(init_temperature, min_temperature)
        self.bias = torch.nn.Parameter(torch.tensor(float(init_bias)))
        self.gather_distributed = gather_distributed

    def forward(
        self, audio: torch.Tensor, text: torch.Tensor
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        scale = self.logit_scale()
        all_text, offset = gather_rows(text) if self.gather_distributed else (text, 0)
        all_audio, _ = gather_rows(audio) if self.gather_distributed else (audio, 0)
        with float32_region(audio):  # logits up to 100: bf16 would round them by 0.5
            audio, text, scale = map(at_least_float32, (audio, text, scale))
            audio_to_text = scale * audio @ at_least_float32(all_text).t() + self.bias
        target = offset + torch.arange(audio.size(0), device=audio.device)
        signs = -torch.ones_like(audio_to_text)
        signs[torch.arange(audio.size(0)), target] = 1.0
        loss = -F.logsigmoid(signs * audio_to_text).sum() / audio.size(0)
        with float32_region(audio):
            text_to_audio = scale * text @ at_least_float32(all_audio).t()
        acc_a2t, acc_t2a = in_batch_accuracy(audio_to_text, text_to_audio, target)
        stats = dict(
            temperature=(1.0 / scale).detach(),
            bias=self.bias.detach(),
            acc_a2t=acc_a2t,
            acc_t2a=acc_t2a,
        )
        return loss, stats
