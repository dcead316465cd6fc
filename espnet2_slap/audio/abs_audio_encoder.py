"""Interface of the audio encoders a SLAP model can use."""

from abc import ABC, abstractmethod
from typing import Callable, Mapping, Optional

import torch

from espnet2_slap.layers.packed_batch import PackedBatch


class AbsAudioEncoder(torch.nn.Module, ABC):
    """Maps a padded batch of features to a packed batch of dense token features.

    The packed output (no padding) is what MAP pooling, the SSL loss and the caption
    decoder consume, whatever layout the encoder uses inside.
    """

    # Whether ``forward`` accepts a ``token_mask`` (the SSL objective needs it); encoders
    # that do also implement ``num_tokens``.
    supports_token_mask = False

    @abstractmethod
    def output_size(self) -> int:
        pass

    @classmethod
    def token_cost_fn(cls, input_size: int, conf: Mapping) -> Callable[[int], int]:
        """Frames of a clip -> tokens the encoder built from ``conf`` runs on it (the packing
        sampler's cost), known before any model is built. Frames by default."""
        return lambda frames: frames

    def num_tokens(self, feats_lengths: torch.Tensor) -> torch.Tensor:
        """``(B,)`` input (= output) tokens of clips of ``feats_lengths`` frames."""
        raise NotImplementedError(f"{type(self).__name__} does not report token counts")

    @abstractmethod
    def forward(
        self,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        token_mask: Optional[torch.Tensor] = None,
    ) -> PackedBatch:
        """``(B, T, F)`` padded features, ``(B,)`` lengths -> packed ``(N, output_size())``
        tokens; ``token_mask`` ``(N,)`` bool marks the input tokens to replace by the learned
        mask token."""
