"""Projection head of the SSL loss: token features to prototype scores (DINO-style head)."""

import math

import torch
import torch.nn.functional as F

from espnet2_slap.utils.precision import at_least_float32, float32_region


class SSLProjectionHead(torch.nn.Module):
    """MLP to an L2-normalised bottleneck, then cosine scores against learned prototypes.

    ``x -> MLP (GELU between layers) -> normalise -> z @ normalise(prototypes)^T``. The
    prototype matrix is weight-normalised with its magnitude fixed to 1 (each row is divided
    by its norm in the forward pass), so every score is a cosine similarity in [-1, 1].
    Defaults follow the DINOv2 head (hidden 2048, bottleneck 256, 3 layers); the paper
    states none of them.

    Args:
        input_size: token feature size D.
        hidden_size: width of the hidden MLP layers.
        bottleneck_size: size of the normalised embedding compared with the prototypes.
        num_prototypes: K, number of output scores.
        num_layers: linear layers in the MLP (>= 1; 1 maps the input straight to the bottleneck).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int = 2048,
        bottleneck_size: int = 256,
        num_prototypes: int = 8192,
        num_layers: int = 3,
    ):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        sizes = [input_size] + [hidden_size] * (num_layers - 1) + [bottleneck_size]
        layers = []
        for i, (size_in, size_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i > 0:
                layers.append(torch.nn.GELU())
            layers.append(torch.nn.Linear(size_in, size_out))
        self.mlp = torch.nn.Sequential(*layers)
        self.prototypes = torch.nn.Parameter(torch.empty(num_prototypes, bottleneck_size))
        self.num_prototypes = num_prototypes
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """MLP: truncated normal (std 0.02), zero bias; prototypes: PyTorch's Linear default."""
        for module in self.mlp:
            if isinstance(module, torch.nn.Linear):
                torch.nn.init.trunc_normal_(module.weight, std=0.02)
                torch.nn.init.zeros_(module.bias)
        bound = 1.0 / math.sqrt(self.prototypes.size(1))
        torch.nn.init.uniform_(self.prototypes, -bound, bound)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Prototype scores.

        Args:
            tokens: ``(M, input_size)`` token features.

        Returns:
            ``(M, num_prototypes)`` cosine similarities between bottleneck and prototypes.
        """
        hidden = self.mlp(tokens)
        with float32_region(hidden):  # scores are divided by temperatures ~0.1: keep fp32
            embedding = F.normalize(at_least_float32(hidden), dim=-1, eps=1e-6)
            prototypes = F.normalize(self.prototypes, dim=-1, eps=1e-6)
            return F.linear(embedding, prototypes.to(embedding.dtype))
