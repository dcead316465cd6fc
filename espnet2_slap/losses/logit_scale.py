"""Learnable inverse temperature shared by the contrastive losses."""

import math

import torch


class ClampedLogitScale(torch.nn.Module):
    """``s = 1 / temperature``, learned in log space and capped at ``1 / min_temperature``.

    CLIP learns ``log s`` and clamps ``s`` at 100 (temperature 0.01). The bound is applied to
    the parameter by :meth:`clamp_` after every optimizer step (the model's
    ``after_optimizer_step``), as open_clip does: a clamp in the forward pass alone would let
    Adam's momentum carry the raw parameter past the bound, where its gradient is zero for
    good and the temperature could never rise again. The forward pass still clamps, which
    only matters for weights loaded from elsewhere.

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
        """Scalar ``s``, differentiable up to and at the cap."""
        return self.log_inv_temperature.clamp(max=self.max_log_inv_temperature).exp()

    @torch.no_grad()
    def clamp_(self) -> None:
        """Clamp the parameter in place to the bound (call after each optimizer step)."""
        self.log_inv_temperature.clamp_(max=self.max_log_inv_temperature)
