"""A batch of variable-length sequences stored back to back (sequence packing).

SLAP removes every padded patch from a batch and runs the Transformer on one long
sequence. :class:`PackedBatch` is that sequence together with the per-sample lengths,
and converts to and from the usual padded ``(B, L, ...)`` layout.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import List, Tuple

import torch


@dataclass(frozen=True)
class PackedBatch:
    """Sequences of a batch concatenated along the first dimension.

    Attributes:
        values: ``(N, ...)`` all tokens of sample 0, then all tokens of sample 1, ...
        lengths: ``(B,)`` int64 number of tokens of each sample; ``lengths.sum() == N``.
    """

    values: torch.Tensor
    lengths: torch.Tensor

    def __post_init__(self):
        if self.lengths.dim() != 1:
            raise ValueError(f"lengths must be 1-D, got shape {tuple(self.lengths.shape)}")
        if int(self.lengths.sum()) != self.values.size(0):
            raise ValueError(
                f"lengths sum to {int(self.lengths.sum())} but values has "
                f"{self.values.size(0)} rows"
            )

    @property
    def batch_size(self) -> int:
        return self.lengths.numel()

    @cached_property
    def cu_seqlens(self) -> torch.Tensor:
        """``(B + 1,)`` int32 offsets of each sample, as varlen attention kernels expect."""
        cu = torch.zeros(self.batch_size + 1, dtype=torch.int32, device=self.values.device)
        cu[1:] = torch.cumsum(self.lengths.to(self.values.device), 0)
        return cu

    @cached_property
    def max_len(self) -> int:
        return int(self.lengths.max()) if self.batch_size > 0 else 0

    @cached_property
    def segment_ids(self) -> torch.Tensor:
        """``(N,)`` int64 index of the sample each token belongs to."""
        return torch.repeat_interleave(
            torch.arange(self.batch_size, device=self.values.device),
            self.lengths.to(self.values.device),
        )

    @cached_property
    def positions_in_sample(self) -> torch.Tensor:
        """``(N,)`` int64 index of each token inside its own sample."""
        starts = self.cu_seqlens[:-1].long()
        return torch.arange(self.values.size(0), device=self.values.device) - starts[
            self.segment_ids
        ]

    def with_values(self, values: torch.Tensor) -> "PackedBatch":
        """Same packing, new per-token values ``(N, ...)``."""
        return PackedBatch(values, self.lengths)

    def split(self) -> List[torch.Tensor]:
        """Per-sample views ``[(L_b, ...)]``."""
        return list(torch.split(self.values, self.lengths.tolist()))

    def to_padded(self, pad_value: float = 0.0) -> Tuple[torch.Tensor, torch.Tensor]:
        """Padded layout.

        Returns:
            padded: ``(B, L_max, ...)``
            mask: ``(B, L_max)`` bool, True on real tokens.
        """
        shape = (self.batch_size, self.max_len) + tuple(self.values.shape[1:])
        padded = self.values.new_full(shape, pad_value)
        padded[self.segment_ids, self.positions_in_sample] = self.values
        return padded, self.padding_mask()

    def padding_mask(self) -> torch.Tensor:
        """``(B, L_max)`` bool, True on real tokens."""
        steps = torch.arange(self.max_len, device=self.values.device)
        return steps[None, :] < self.lengths.to(self.values.device)[:, None]

    @staticmethod
    def from_padded(padded: torch.Tensor, lengths: torch.Tensor) -> "PackedBatch":
        """Drop the padding of ``padded`` ``(B, L, ...)`` given valid ``lengths`` ``(B,)``."""
        lengths = lengths.to(device=padded.device, dtype=torch.long)
        steps = torch.arange(padded.size(1), device=padded.device)
        mask = steps[None, :] < lengths[:, None]
        return PackedBatch(padded[mask], lengths)
