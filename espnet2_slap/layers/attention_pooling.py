"""Multi-head attention pooling (MAP), as in SigLIP: a learned query attends over tokens."""

import torch
import torch.nn.functional as F

from espnet2_slap.layers.swiglu import SwiGLU


class AttentionPooling(torch.nn.Module):
    """Pools a variable-length token sequence into one vector and projects it.

    ``y = MHA(query, x, x)``; ``y = y + SwiGLU(RMSNorm(y))``; ``out = W y``.

    Args:
        input_size: width of the tokens.
        output_size: width of the pooled embedding (the joint space dimension D).
        num_heads: heads of the pooling attention.
        mlp_ratio: SwiGLU inner width as a multiple of ``input_size``.
    """

    def __init__(self, input_size: int, output_size: int, num_heads: int = 8, mlp_ratio: int = 4):
        super().__init__()
        if input_size % num_heads != 0:
            raise ValueError(f"input_size {input_size} not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.query = torch.nn.Parameter(torch.zeros(1, input_size))
        self.q_proj = torch.nn.Linear(input_size, input_size, bias=False)
        self.kv_proj = torch.nn.Linear(input_size, 2 * input_size, bias=False)
        self.out_proj = torch.nn.Linear(input_size, input_size, bias=False)
        self.norm = torch.nn.RMSNorm(input_size, eps=1e-6)
        self.mlp = SwiGLU(input_size, mlp_ratio * input_size)
        self.proj = torch.nn.Linear(input_size, output_size, bias=False)
        torch.nn.init.trunc_normal_(self.query, std=0.02)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """``(B, L, input_size)`` padded tokens, ``(B, L)`` valid mask (True on real tokens,
        at least one per row) -> ``(B, output_size)``."""
        batch = x.size(0)
        q = self.q_proj(self.query).view(1, self.num_heads, 1, -1).expand(batch, -1, -1, -1)
        k, v = self.kv_proj(x).unflatten(-1, (2, self.num_heads, -1)).permute(2, 0, 3, 1, 4)
        pooled = F.scaled_dot_product_attention(q, k, v, attn_mask=valid[:, None, None, :])
        y = self.out_proj(pooled.flatten(1))  # (B, input_size)
        y = y + self.mlp(self.norm(y))
        return self.proj(y)
