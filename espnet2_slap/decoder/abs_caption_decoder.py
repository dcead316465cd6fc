"""Interface of the caption decoders (the L_CAP objective and caption generation)."""

from abc import ABC, abstractmethod
from typing import Dict, List, Mapping, Optional, Tuple

import torch


class AbsCaptionDecoder(torch.nn.Module, ABC):
    """Autoregressive text decoder cross-attending to dense audio features.

    Token ids follow ESPnet token lists: ``0`` is ``<blank>``, ``1`` is ``<unk>`` and the
    last id ``vocab_size - 1`` is ``<sos/eos>``; captions in a batch are padded with ``-1``.
    """

    @classmethod
    def max_caption_tokens(cls, conf: Mapping) -> Optional[int]:
        """Longest training caption (tokens, ``<sos/eos>`` excluded) a decoder built from
        ``conf`` accepts; ``None`` when unbounded."""
        return None

    @abstractmethod
    def forward(
        self,
        memory: torch.Tensor,
        memory_valid: torch.Tensor,
        tokens: torch.Tensor,
        token_lengths: torch.Tensor,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Teacher-forced captioning loss.

        Args:
            memory: ``(B, S, memory_size)`` audio token features (before MAP pooling).
            memory_valid: ``(B, S)`` bool, True on real audio tokens.
            tokens: ``(B, L)`` caption ids without ``<sos/eos>``, padded with -1.
            token_lengths: ``(B,)``.

        Returns:
            loss: scalar, mean negative log-likelihood per real target token (``<sos/eos>``
                at the end included, padding excluded).
            stats: ``loss_cap`` and ``acc_cap`` (token accuracy on the same targets).
        """

    @abstractmethod
    def generate(
        self,
        memory: torch.Tensor,
        memory_valid: torch.Tensor,
        max_length: int = 30,
        beam_size: int = 1,
    ) -> List[List[int]]:
        """One caption per clip (greedy when ``beam_size == 1``), ids without ``<sos/eos>``."""
