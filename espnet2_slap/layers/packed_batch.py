"""Sequence packing: the tokens of a batch back to back, without padding, and the valid mask."""

from dataclasses import dataclass
from functools import cached_property
from typing import List, Tuple

import torch


def valid_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """``(B, max_len)`` bool, True on the first ``lengths[b]`` positions of row ``b``.

    ESPnet's ``make_pad_mask`` is the complement, but for 1-D length tensors its traceable
    path marks nothing as padding in a zero-length row (an empty caption), so it is not used.
    """
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


@dataclass(frozen=True)
class PackedBatch:
    """``values`` ``(N, ...)``: the tokens of sample 0, then of sample 1, ...;
    ``lengths`` ``(B,)`` int64 tokens per sample, summing to ``N``."""

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
        """``(B + 1,)`` int32 sample offsets, as varlen attention kernels expect."""
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
        return PackedBatch(values, self.lengths)

    def split(self) -> List[torch.Tensor]:
        """Per-sample views ``[(L_b, ...)]``."""
        return list(torch.split(self.values, self.lengths.tolist()))

    def to_padded(self, pad_value: float = 0.0) -> Tuple[torch.Tensor, torch.Tensor]:
        """Padded ``(B, L_max, ...)`` values and their ``(B, L_max)`` valid mask."""
        shape = (self.batch_size, self.max_len) + tuple(self.values.shape[1:])
        padded = self.values.new_full(shape, pad_value)
        padded[self.segment_ids, self.positions_in_sample] = self.values
        return padded, valid_mask(self.lengths.to(self.values.device), self.max_len)

    @staticmethod
    def from_padded(padded: torch.Tensor, lengths: torch.Tensor) -> "PackedBatch":
        """Drop the padding of ``padded`` ``(B, L, ...)`` given valid ``lengths`` ``(B,)``."""
        lengths = lengths.to(device=padded.device, dtype=torch.long)
        return PackedBatch(padded[valid_mask(lengths, padded.size(1))], lengths)
