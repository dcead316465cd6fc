"""Learnable inverse temperature shared by the contrastive losses."""

import math

import torch


class ClampedLogitScale(torch.nn.Module):
    """``s = 1 / temperature``, learned in log space and capped at ``1 / min_temperature``.

    CLIP learns ``log s`` and clamps ``s`` at 100 (temperature 0.01); the clamp also stops
    the gradient, so a temperature at its bound is not pushed further.

    Args:
        init_temperature: starting temperature.
        min_temperature: lower bound of the temperature.
        learnable: False keeps the temperature fixed at ``init_temperature``.
    """

    def __init__(
        self, init_temperature: float, min_temperature: float = 0.01, learnable: bool = True
    ):
        super().__init__()
        if not 0 < min_temperature <= init_temperature:
            raise ValueError(
                f"need 0 < min_temperature ({min_temperature}) <= init_temperature ({init_temperature})"
            )
        self.log_inv_temperature = torch.nn.Parameter(
            torch.tensor(math.log(1.0 / init_temperature)), requires_grad=learnable
        )
        self.max_log_inv_temperature = math.log(1.0 / min_temperature)

    def forward(self) -> torch.Tensor:
        """Scalar ``s``, differentiable below the cap."""
        return self.log_inv_temperature.clamp(max=self.max_log_inv_temperature).exp()
