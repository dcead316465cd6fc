"""Pre-norm Transformer block of the SLAP audio encoder.

RMSNorm, bias-free linear layers, 2D RoPE on queries and keys, SwiGLU feed-forward. Tokens
are packed: ``x`` is ``(N, D)`` and a :class:`PackedLayout` says where each sample's tokens
are. The layout also runs the attention, so another layout (the padded baseline of
``audio/padded_baseline.py``) can run the same weights.
"""

from dataclasses import dataclass
from typing import Optional

import torch

from espnet2_slap.layers.attention_backends import packed_attention
from espnet2_slap.layers.rope2d import apply_rope_2d
from espnet2_slap.layers.swiglu import SwiGLU


@dataclass(frozen=True)
class PackedLayout:
    """Tokens of all samples back to back: ``cu_seqlens`` ``(B + 1,)`` int32."""

    cu_seqlens: torch.Tensor
    max_seqlen: int

    def attend(self, q, k, v, window_radius: Optional[int], backend: str) -> torch.Tensor:
        """``(N, H, Dh)`` queries, keys, values -> ``(N, H, Dh)``."""
        return packed_attention(q, k, v, self.cu_seqlens, self.max_seqlen, window_radius, backend)


class RotarySelfAttention(torch.nn.Module):
    """Multi-head self-attention with 2D RoPE and no biases.

    Args:
        dim: model width.
        num_heads: attention heads; ``dim // num_heads`` must be divisible by 4 (2D RoPE).
        window_radius: token radius of a local (sliding-window) layer, ``None`` for global.
        backend: attention backend (see ``attention_backends``).
    """

    def __init__(self, dim: int, num_heads: int, window_radius: Optional[int], backend: str):
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError(f"width {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.window_radius = window_radius
        self.backend = backend
        self.qkv = torch.nn.Linear(dim, 3 * dim, bias=False)
        self.out = torch.nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, layout) -> torch.Tensor:
        """``x`` ``(..., D)`` with rotary tables ``cos``/``sin`` ``(..., 1, Dh)``."""
        q, k, v = self.qkv(x).unflatten(-1, (3, self.num_heads, -1)).unbind(-3)
        q = apply_rope_2d(q, cos, sin)
        k = apply_rope_2d(k, cos, sin)
        out = layout.attend(q, k, v, self.window_radius, self.backend)
        return self.out(out.flatten(-2))


class TransformerBlock(torch.nn.Module):
    """``x + attn(norm(x))`` then ``x + swiglu(norm(x))``."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_hidden_size: int,
        window_radius: Optional[int],
        backend: str,
        norm_eps: float = 1e-6,
    ):
        super().__init__()
        self.attn_norm = torch.nn.RMSNorm(dim, eps=norm_eps)
        self.attn = RotarySelfAttention(dim, num_heads, window_radius, backend)
        self.mlp_norm = torch.nn.RMSNorm(dim, eps=norm_eps)
        self.mlp = SwiGLU(dim, mlp_hidden_size)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, layout) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin, layout)
        return x + self.mlp(self.mlp_norm(x))
