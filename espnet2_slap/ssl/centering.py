"""Teacher centering: how teacher prototype scores become target distributions.

Without centering, a self-distillation teacher collapses (every token onto one prototype).
Two remedies, both from the DINO family, sit behind :class:`TeacherCentering`:

* :class:`SinkhornKnoppCentering` (iBOT / DINOv2): a few Sinkhorn-Knopp iterations make the
  targets spread the batch's masked tokens evenly over the prototypes.
* :class:`EMACentering` (DINO / iBOT): subtract a running mean of the teacher scores before the
  softmax.

Under ``torch.distributed`` the batch statistics are summed over all ranks, so every rank
computes the targets of the global batch.
"""

from abc import ABC, abstractmethod

import torch

from espnet2_slap.utils.distributed import is_distributed


def _all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """In-place sum over all ranks when a process group is running, else unchanged."""
    if is_distributed():
        torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
    return tensor


def _all_reduce_max(tensor: torch.Tensor) -> torch.Tensor:
    """In-place maximum over all ranks when a process group is running, else unchanged."""
    if is_distributed():
        torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.MAX)
    return tensor


class TeacherCentering(torch.nn.Module, ABC):
    """Turns teacher prototype scores into target probabilities."""

    @abstractmethod
    def probabilities(self, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
        """Targets for the student.

        Args:
            teacher_logits: ``(M, K)`` teacher prototype scores of the M masked tokens.
            temperature: teacher softmax temperature.

        Returns:
            ``(M, K)`` float32, each row a probability distribution over the K prototypes.
        """

    def update(self, teacher_logits: torch.Tensor) -> None:
        """Update running statistics with a training batch ``(M, K)``; stateless by default."""


class SinkhornKnoppCentering(TeacherCentering):
    """Sinkhorn-Knopp normalisation of ``exp(logits / temperature)`` over the masked tokens.

    Alternately rescales the prototypes to equal total mass ``1 / K`` and the tokens to
    equal mass ``1 / M`` (M counted over all ranks), then scales each token's row to sum
    to 1. Tokens are pooled over the whole batch, so samples with more masked tokens
    simply contribute more rows.

    Args:
        num_iterations: Sinkhorn-Knopp iterations (3, as in DINOv2).
    """

    def __init__(self, num_iterations: int = 3):
        super().__init__()
        if num_iterations < 1:
            raise ValueError(f"num_iterations must be >= 1, got {num_iterations}")
        self.num_iterations = num_iterations

    @torch.no_grad()
    def probabilities(self, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
        scores = teacher_logits.float() / temperature  # (M, K)
        num_prototypes = scores.size(1)
        # A global shift of every score cancels in the first normalisation; it only keeps
        # exp() from overflowing.
        local_max = scores.max() if scores.numel() > 0 else scores.new_tensor(float("-inf"))
        shift = _all_reduce_max(local_max.clone())
        q = torch.exp(scores - shift).t()  # (K, M)
        num_tokens = _all_reduce_sum(scores.new_tensor(float(scores.size(0))))
        tiny = torch.finfo(q.dtype).tiny

        q /= _all_reduce_sum(q.sum()).clamp(min=tiny)
        for _ in range(self.num_iterations):
            prototype_mass = _all_reduce_sum(q.sum(dim=1, keepdim=True))  # (K, 1)
            q /= prototype_mass.clamp(min=tiny) * num_prototypes
            token_mass = q.sum(dim=0, keepdim=True)  # (1, M), tokens are local to a rank
            q /= token_mass.clamp(min=tiny) * num_tokens
        q *= num_tokens  # each token's distribution sums to 1
        return q.t()


class EMACentering(TeacherCentering):
    """``softmax((logits - center) / temperature)`` with ``center`` a running mean of the logits.

    ``center`` is a buffer, so it is saved in checkpoints and a resumed run continues with
    it. :meth:`update` must be called after :meth:`probabilities` of the same batch.

    Args:
        num_prototypes: K.
        momentum: ``center = momentum * center + (1 - momentum) * batch_mean``.
    """

    def __init__(self, num_prototypes: int, momentum: float = 0.9):
        super().__init__()
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"center momentum must be in [0, 1), got {momentum}")
        self.momentum = momentum
        self.register_buffer("center", torch.zeros(num_prototypes))  # (K,)

    @torch.no_grad()
    def probabilities(self, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
        return torch.softmax((teacher_logits.float() - self.center) / temperature, dim=-1)

    @torch.no_grad()
    def update(self, teacher_logits: torch.Tensor) -> None:
        """Move the center towards the mean teacher score of this batch (over all ranks)."""
        logits = teacher_logits.float()
        local_count = logits.new_tensor([logits.size(0)])
        total = _all_reduce_sum(torch.cat([logits.sum(dim=0), local_count]))  # (K + 1,)
        count = total[-1]
        batch_mean = total[:-1] / count.clamp(min=1.0)
        moved = self.momentum * self.center + (1.0 - self.momentum) * batch_mean
        self.center.copy_(torch.where(count > 0, moved, self.center))  # empty batch: unchanged
