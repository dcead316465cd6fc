"""SwiGLU feed-forward block without biases."""

import torch
import torch.nn.functional as F


class SwiGLU(torch.nn.Module):
    """``W_down(silu(W_gate x) * W_up x)``, the gate and up projections fused; ``hidden_dim``
    is the paper's "intermediate dimension"."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.gate_up = torch.nn.Linear(dim, 2 * hidden_dim, bias=False)
        self.down = torch.nn.Linear(hidden_dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., dim) -> (..., dim)``."""
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)
