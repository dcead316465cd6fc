"""Interface of the audio-text alignment losses (L_CLAP and its variants)."""

from abc import ABC, abstractmethod
from typing import Dict, Tuple

import torch


class AbsContrastiveLoss(torch.nn.Module, ABC):
    """Aligns paired audio and text embeddings of a batch; owns its temperature.

    Implementations keep the learned ``1 / temperature`` in ``self.logit_scale``, a
    :class:`~espnet2_slap.losses.logit_scale.ClampedLogitScale` (inference reads it).
    """

    @abstractmethod
    def forward(
        self, audio: torch.Tensor, text: torch.Tensor
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Loss of a batch.

        Args:
            audio: ``(B, D)`` L2-normalised audio embeddings.
            text: ``(B, D)`` L2-normalised text embeddings; row i is paired with audio row i.
                Under data parallelism the other ranks' rows join as negatives.

        Returns:
            loss: scalar.
            stats: ``temperature``, ``acc_a2t`` and ``acc_t2a`` (in-batch top-1 retrieval).
        """


def in_batch_accuracy(
    audio_to_text: torch.Tensor, text_to_audio: torch.Tensor, target: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Top-1 retrieval accuracy inside the (global) batch.

    Args:
        audio_to_text: ``(B, B_total)`` scores of this rank's clips against every caption.
        text_to_audio: ``(B, B_total)`` scores of this rank's captions against every clip.
        target: ``(B,)`` column of each row's partner.

    Returns:
        (audio->text accuracy, text->audio accuracy), scalars in [0, 1].
    """
    acc_a2t = (audio_to_text.argmax(dim=1) == target).float().mean()
    acc_t2a = (text_to_audio.argmax(dim=1) == target).float().mean()
    return acc_a2t.detach(), acc_t2a.detach()
