"""Interface of the audio-text alignment losses (L_CLAP and its variants)."""

from abc import ABC, abstractmethod
from typing import Dict, Tuple

import torch


class AbsContrastiveLoss(torch.nn.Module, ABC):
    """Aligns paired audio and text embeddings of a batch; owns its temperature."""

    @abstractmethod
    def forward(
        self, audio: torch.Tensor, text: torch.Tensor
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Loss of a batch.

        Args:
            audio: ``(B, D)`` L2-normalised audio embeddings.
            text: ``(B, D)`` L2-normalised text embeddings; row i is paired with audio row i.

        Returns:
            loss: scalar.
            stats: ``temperature``, ``acc_a2t`` and ``acc_t2a`` (in-batch top-1 retrieval).
        """


def in_batch_accuracy(logits: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Top-1 retrieval accuracy inside the batch from ``(B, B)`` audio-by-text logits.

    Returns:
        (audio->text accuracy, text->audio accuracy), scalars in [0, 1].
    """
    target = torch.arange(logits.size(0), device=logits.device)
    acc_a2t = (logits.argmax(dim=1) == target).float().mean()
    acc_t2a = (logits.argmax(dim=0) == target).float().mean()
    return acc_a2t.detach(), acc_t2a.detach()
