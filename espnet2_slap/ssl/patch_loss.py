"""The patch loss of L_SSL (iBOT / DINOv2): cross-entropy on the masked tokens.

Used by :class:`espnet2_slap.ssl.objective.MaskedDistillationObjective`.
"""

from typing import Dict, Optional, Tuple

import torch

from espnet2_slap.ssl.centering import (
    EMACentering,
    SinkhornKnoppCentering,
    TeacherCentering,
)


def build_centering(
    name: str, num_prototypes: int, center_momentum: float, sinkhorn_iterations: int
) -> TeacherCentering:
    """``"sinkhorn"`` -> :class:`SinkhornKnoppCentering`, ``"ema"`` -> :class:`EMACentering`."""
    if name == "sinkhorn":
        return SinkhornKnoppCentering(sinkhorn_iterations)
    if name == "ema":
        return EMACentering(num_prototypes, center_momentum)
    raise ValueError(f"centering must be 'sinkhorn' or 'ema', got {name!r}")


class PatchDistillationLoss(torch.nn.Module):
    """Cross-entropy between teacher targets and student softmax on the masked tokens.

    For masked token j of sample i: ``l_ij = -sum_k Q_t[ij, k] log softmax(s_ij / tau_s)[k]``,
    with ``Q_t`` the centred teacher distribution at temperature ``tau_t`` (computed without
    gradient). The loss averages ``l_ij`` over each sample's masked tokens, then over the
    samples that have at least one masked token, so long clips do not outweigh short ones.
    Defaults are DINOv2's (student 0.1, teacher 0.07 after its warm-up, Sinkhorn-Knopp with 3
    iterations); the paper gives none of them. DINOv2 warms the teacher temperature up
    linearly from 0.04 to 0.07; ``teacher_temperature_start: 0.04`` with
    ``teacher_temperature_warmup_steps: N`` does that over the first N optimizer steps (the
    default is the constant ``teacher_temperature``). The EMA center is updated only in
    training mode, so validation leaves it untouched.

    Args:
        num_prototypes: K, the number of prototype scores per token.
        student_temperature: tau_s.
        teacher_temperature: tau_t (after the warm-up, if any).
        teacher_temperature_start: tau_t at step 0 of a warm-up; None: no warm-up.
        teacher_temperature_warmup_steps: optimizer steps of the linear warm-up.
        centering: ``"sinkhorn"`` or ``"ema"`` (see :mod:`espnet2_slap.ssl.centering`).
        center_momentum: momentum of the EMA center (``"ema"`` only).
        sinkhorn_iterations: Sinkhorn-Knopp iterations (``"sinkhorn"`` only).
    """

    def __init__(
        self,
        num_prototypes: int,
        student_temperature: float = 0.1,
        teacher_temperature: float = 0.07,
        centering: str = "sinkhorn",
        center_momentum: float = 0.9,
        sinkhorn_iterations: int = 3,
        teacher_temperature_start: Optional[float] = None,
        teacher_temperature_warmup_steps: int = 0,
    ):
        super().__init__()
        if student_temperature <= 0 or teacher_temperature <= 0:
            raise ValueError(
                "temperatures must be > 0, got student_temperature="
                f"{student_temperature}, teacher_temperature={teacher_temperature}"
            )
        warm_up = teacher_temperature_start is not None
        if warm_up and (teacher_temperature_start <= 0 or teacher_temperature_warmup_steps < 1):
            raise ValueError(
                "a teacher temperature warm-up needs teacher_temperature_start > 0 and "
                f"teacher_temperature_warmup_steps >= 1, got {teacher_temperature_start} and "
                f"{teacher_temperature_warmup_steps}"
            )
        self.teacher_temperature_start = teacher_temperature_start
        self.teacher_temperature_warmup_steps = int(teacher_temperature_warmup_steps)
        self.num_prototypes = num_prototypes
        self.student_temperature = student_temperature
        self.teacher_temperature = teacher_temperature
        self.centering = build_centering(
            centering, num_prototypes, center_momentum, sinkhorn_iterations
        )

    def teacher_temperature_at(self, step: int) -> float:
        """tau_t after ``step`` optimizer steps (linear warm-up, then constant)."""
        if self.teacher_temperature_start is None:
            return self.teacher_temperature
        progress = min(max(step, 0), self.teacher_temperature_warmup_steps)
        progress /= self.teacher_temperature_warmup_steps
        start = self.teacher_temperature_start
        return start + (self.teacher_temperature - start) * progress

    def forward(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        sample_ids: torch.Tensor,
        num_samples: int,
        step: int = 0,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Loss over the masked tokens of a batch.

        Args:
            student_logits: ``(M, K)`` student prototype scores of the M masked tokens.
            teacher_logits: ``(M, K)`` teacher prototype scores of the same tokens.
            sample_ids: ``(M,)`` integer index in ``[0, num_samples)`` of each token's sample.
            num_samples: B, the number of samples in the batch.
            step: optimizer steps taken so far (the teacher temperature warm-up).

        Returns:
            loss: scalar (0 with a gradient path when no token is masked).
            stats: ``teacher_entropy``, the mean entropy (nats) of the teacher targets,
                detached; near 0 means hard targets, ``log K`` means uniform targets; with a
                warm-up also ``teacher_temperature``.
        """
        self._check_inputs(student_logits, teacher_logits, sample_ids, num_samples)
        temperature = self.teacher_temperature_at(step)
        with torch.no_grad():
            targets = self.centering.probabilities(teacher_logits, temperature)
            if self.training:
                self.centering.update(teacher_logits)
            token_entropy = -torch.special.xlogy(targets, targets).sum(dim=-1)  # (M,)
            teacher_entropy = token_entropy.sum() / max(token_entropy.numel(), 1)

        log_student = torch.log_softmax(student_logits.float() / self.student_temperature, -1)
        token_loss = -(targets * log_student).sum(dim=-1)  # (M,)

        tokens_per_sample = torch.bincount(sample_ids, minlength=num_samples)  # (B,)
        token_weight = 1.0 / tokens_per_sample[sample_ids]  # (M,)
        samples_with_tokens = (tokens_per_sample > 0).sum().clamp(min=1)
        loss = (token_loss * token_weight).sum() / samples_with_tokens
        stats = dict(teacher_entropy=teacher_entropy.detach())
        if self.teacher_temperature_start is not None:
            stats["teacher_temperature"] = torch.tensor(temperature)
        return loss, stats

    def _check_inputs(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        sample_ids: torch.Tensor,
        num_samples: int,
    ) -> None:
        if student_logits.dim() != 2 or student_logits.size(1) != self.num_prototypes:
            raise ValueError(
                f"student_logits must be (M, {self.num_prototypes}), "
                f"got {tuple(student_logits.shape)}"
            )
        if teacher_logits.shape != student_logits.shape:
            raise ValueError(
                f"teacher_logits {tuple(teacher_logits.shape)} must match "
                f"student_logits {tuple(student_logits.shape)}"
            )
        if sample_ids.shape != student_logits.shape[:1]:
            raise ValueError(
                f"sample_ids must be ({student_logits.size(0)},), got {tuple(sample_ids.shape)}"
            )
        if sample_ids.dtype not in (torch.int32, torch.int64):
            raise ValueError(f"sample_ids must be int32 or int64, got {sample_ids.dtype}")
        if sample_ids.numel() > 0:
            low, high = torch.aminmax(sample_ids)
            low, high = int(low), int(high)
            if low < 0 or high >= num_samples:
                raise ValueError(
                    f"sample_ids must lie in [0, num_samples={num_samples}), got values in "
                    f"[{low}, {high}]"
                )
