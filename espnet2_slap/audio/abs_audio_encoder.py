"""Interface of the audio encoders a SLAP model can use."""

from abc import ABC, abstractmethod
from typing import Optional

import torch

from espnet2_slap.layers.packed_batch import PackedBatch


class AbsAudioEncoder(torch.nn.Module, ABC):
    """Maps a padded batch of features to a packed batch of dense token features.

    The packed output (no padding) is what MAP pooling, the SSL loss and the caption
    decoder consume, whatever layout the encoder uses inside.
    """

    @abstractmethod
    def output_size(self) -> int:
        """Width of the output tokens."""

    @property
    def supports_token_mask(self) -> bool:
        """Whether ``forward`` accepts a ``token_mask`` (needed by the SSL objective).

        Encoders that do must also implement :meth:`num_tokens`.
        """
        return False

    def num_tokens(self, feats_lengths: torch.Tensor) -> torch.Tensor:
        """``(B,)`` number of input (= output) tokens for clips of ``feats_lengths`` frames."""
        raise NotImplementedError(f"{type(self).__name__} does not report token counts")

    @abstractmethod
    def forward(
        self,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        token_mask: Optional[torch.Tensor] = None,
    ) -> PackedBatch:
        """Encode.

        Args:
            feats: ``(B, T, F)`` padded features.
            feats_lengths: ``(B,)`` valid frames.
            token_mask: optional ``(N,)`` bool over the packed input tokens; True tokens are
                replaced by a learned mask token before the Transformer blocks.

        Returns:
            Packed ``(N, output_size())`` token features, one segment per clip.
        """
