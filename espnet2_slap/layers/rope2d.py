"""Two-dimensional rotary position embedding (RoPE) for spectrogram patches.

Each attention head of size ``Dh`` is split in two halves: the first half rotates with the
patch's time index, the second with its frequency index (the reading of the paper's
"2D RoPE" recorded in docs/design.md). Inside each half the usual rotate-half pairing is used,
so ``q(t1, f1) . k(t2, f2)`` depends on the positions only through ``(t1 - t2, f1 - f2)``.
"""

from typing import Tuple

import torch


class RotaryEmbedding2D(torch.nn.Module):
    """Cos/sin tables for 2D rotary embedding.

    Args:
        head_dim: size of one attention head; must be divisible by 4.
        base: wavelength base of the rotary frequencies.
    """

    def __init__(self, head_dim: int, base: float = 10000.0):
        super().__init__()
        if head_dim % 4 != 0:
            raise ValueError(f"2D RoPE needs head_dim divisible by 4, got {head_dim}")
        axis_dim = head_dim // 2
        inv_freq = base ** (-torch.arange(0, axis_dim, 2, dtype=torch.float32) / axis_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)  # (Dh/4,)

    def forward(self, positions: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(N, 2)`` integer (time, frequency) positions -> cos, sin ``(N, 1, Dh)`` float32."""
        angles = positions.float()[:, :, None] * self.inv_freq  # (N, 2, Dh/4)
        angles = torch.cat([angles, angles], dim=-1).flatten(1)  # (N, Dh): [t, t, f, f]
        return angles.cos()[:, None, :], angles.sin()[:, None, :]


def _rotate_half_per_axis(x: torch.Tensor) -> torch.Tensor:
    """Rotate-half inside the time half and inside the frequency half of ``x[..., Dh]``."""
    x = x.unflatten(-1, (2, 2, -1))  # (..., axis, half, Dh/4)
    first, second = x.unbind(-2)
    return torch.stack([-second, first], dim=-2).flatten(-3)


def apply_rope_2d(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``(N, H, Dh)`` queries or keys by the tables of :class:`RotaryEmbedding2D`;
    the result keeps the dtype of ``x``."""
    rotated = x.float() * cos + _rotate_half_per_axis(x.float()) * sin
    return rotated.to(x.dtype)
