"""Interface of the text encoders a SLAP model can use."""

from abc import ABC, abstractmethod
from typing import Callable, List, Tuple

import torch

TextTokenizer = Callable[[str], List[int]]


class AbsTextEncoder(torch.nn.Module, ABC):
    """Maps padded token ids to dense token features."""

    @classmethod
    @abstractmethod
    def build_tokenizer(cls, **conf) -> TextTokenizer:
        """The tokenizer that matches an encoder built with ``conf`` (used by the data loader)."""

    @abstractmethod
    def output_size(self) -> int:
        """Width of the output token features."""

    @abstractmethod
    def forward(
        self, token_ids: torch.Tensor, token_lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode.

        Args:
            token_ids: ``(B, L)`` int64; positions past each length may hold any value
                (ESPnet pads integer data with -1).
            token_lengths: ``(B,)`` valid tokens.

        Returns:
            features: ``(B, L, output_size())``.
            valid: ``(B, L)`` bool, True on real tokens.
        """
