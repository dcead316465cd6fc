"""EMA teacher for self-distillation: a frozen copy of the student that trails its weights.

The teacher starts as an exact copy of the student and after every real optimizer step moves
``teacher = m * teacher + (1 - m) * student``, with the momentum ``m`` rising from 0.994 to
1.0 on a cosine schedule (paper section 3.1). Its step counter is a buffer, so a run resumed
from a checkpoint continues the schedule where it stopped.

The teacher's whole life is here: :class:`EMATeacher` (built by the SSL objective, saved in
the model's state dict), :func:`attach_ema_teacher` (schedule length and the step after each
optimizer step, wired once per run by the task) and :meth:`EMATeacher.restart_schedule`
(a run from trained weights, e.g. fine-tuning with ``--init_param``, called by the trainer
through ``ESPnetSLAPModel.start_new_teacher_schedule``).
"""

import copy
import logging
import math
from typing import Callable, List, Optional, Tuple

import torch
from torch.utils.hooks import RemovableHandle


def cosine_momentum(step: int, total_steps: int, start: float = 0.994, end: float = 1.0) -> float:
    """``end - (end - start) * (cos(pi * step / total_steps) + 1) / 2``, and ``end`` once
    ``step >= total_steps``."""
    if total_steps <= 0:
        raise ValueError(f"total_steps must be > 0, got {total_steps}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    progress = min(step, total_steps) / total_steps
    return end - (end - start) * (math.cos(math.pi * progress) + 1.0) / 2.0


def _matching_tensors(
    teacher: List[Tuple[str, torch.Tensor]], student: List[Tuple[str, torch.Tensor]], kind: str
) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
    """Pair teacher and student tensors, failing clearly if the two modules differ."""
    teacher_names = [name for name, _ in teacher]
    student_names = [name for name, _ in student]
    if teacher_names != student_names:
        differing = sorted(set(teacher_names) ^ set(student_names))
        detail = f"names only on one side: {differing[:5]}" if differing else "different order"
        raise ValueError(
            f"EMATeacher: the student's {kind} do not match the teacher's ({detail}); "
            "pass the same kind of module the teacher was built from"
        )
    return [tensor for _, tensor in teacher], [tensor for _, tensor in student]


class EMATeacher(torch.nn.Module):
    """Exponential moving average of a student module.

    The copy lives in :attr:`module`; call it (or ``teacher(...)``, which runs it under
    ``torch.no_grad()``) to get teacher outputs. Its parameters have ``requires_grad=False``
    and never receive gradients. They are still ``nn.Parameter`` objects of any parent
    module, so the optimizer must be built from the parameters that require grad only
    (ESPnet's default ``model.parameters()`` would include them).

    The teacher is always in eval mode: :meth:`train` is overridden, so ``model.train()``
    never turns on dropout or drop-path inside the teacher.

    Buffers: ``step`` (EMA updates done; saved in ``state_dict``), ``merged_checkpoints``
    (saved, always 1 in a live model) and ``total_steps`` (length of the momentum schedule,
    not saved: the trainer sets it with :meth:`set_total_steps` from the run's own epochs and
    batches each time it starts). ESPnet's checkpoint averaging sums integer buffers instead
    of averaging them, so an average of n checkpoints holds the sum of their steps and
    ``merged_checkpoints = n``; loading divides one by the other, giving the mean step.

    Args:
        student: the module to copy (deep copy).
        start: momentum at step 0.
        end: momentum from ``total_steps`` on.
        total_steps: schedule length; 0 means "not known yet" and must be set before
            the first :meth:`update`.
    """

    def __init__(
        self, student: torch.nn.Module, start: float = 0.994, end: float = 1.0, total_steps: int = 0
    ):
        super().__init__()
        if not 0.0 <= start <= end <= 1.0:
            raise ValueError(f"need 0 <= start ({start}) <= end ({end}) <= 1")
        self.module = copy.deepcopy(student)
        self.module.requires_grad_(False)
        self.start = start
        self.end = end
        self.register_buffer("step", torch.tensor(0, dtype=torch.int64))
        self.register_buffer("merged_checkpoints", torch.tensor(1, dtype=torch.int64))
        # Not persistent: a resumed run recomputes it from its own epochs (which may have been
        # extended), while ``step`` continues from the checkpoint.
        self.register_buffer("total_steps", torch.tensor(0, dtype=torch.int64), persistent=False)
        if total_steps:
            self.set_total_steps(total_steps)
        self.train(False)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Undo the summing of ``step`` by checkpoint averaging (see the class docstring);
        a state dict without ``merged_checkpoints`` (older checkpoints) counts as one."""
        step_key, merged_key = prefix + "step", prefix + "merged_checkpoints"
        if step_key in state_dict:
            merged = int(state_dict.get(merged_key, 1))
            if merged < 1:
                raise ValueError(f"{merged_key} must be >= 1, got {merged}")
            state_dict[step_key] = state_dict[step_key] // merged
            state_dict[merged_key] = torch.tensor(1, dtype=torch.int64)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def set_total_steps(self, total_steps: int) -> None:
        """Set the number of optimizer steps over which the momentum reaches ``end``."""
        if total_steps <= 0:
            raise ValueError(f"EMATeacher: total_steps must be > 0, got {total_steps}")
        self.total_steps.fill_(total_steps)

    def restart_schedule(self) -> None:
        """Start the schedule again: ``step = 0``, so the teacher is copied from the student
        at the next training step and the momentum starts from ``start``."""
        self.step.zero_()

    def momentum(self) -> float:
        """The momentum the next :meth:`update` uses."""
        total_steps = int(self.total_steps)
        if total_steps <= 0:
            raise RuntimeError(
                "EMATeacher: total_steps is not set; call set_total_steps() before training"
            )
        return cosine_momentum(int(self.step), total_steps, self.start, self.end)

    def train(self, mode: bool = True) -> "EMATeacher":
        """Ignore ``mode``: the teacher stays in eval mode (no dropout, no drop-path)."""
        return super().train(False)

    def forward(self, *args, **kwargs):
        """Teacher outputs, computed without gradient."""
        with torch.no_grad():
            return self.module(*args, **kwargs)

    @torch.no_grad()
    def update(self, student: torch.nn.Module) -> None:
        """One EMA step: ``teacher = m * teacher + (1 - m) * student``; buffers are copied.

        Args:
            student: a module with the same parameter names as the one the teacher was
                built from (unwrapped from DDP).
        """
        m = self.momentum()
        teacher_params, student_params = _matching_tensors(
            list(self.module.named_parameters()), list(student.named_parameters()), "parameters"
        )
        if teacher_params:
            torch._foreach_mul_(teacher_params, m)
            torch._foreach_add_(teacher_params, [p.detach() for p in student_params], alpha=1.0 - m)
        self._copy_buffers(student)
        self.step += 1

    @torch.no_grad()
    def reset_from(self, student: torch.nn.Module) -> None:
        """Make the teacher an exact copy of ``student`` again (e.g. after the student was
        re-initialised or loaded from a pretrained model); ``step`` is left unchanged."""
        teacher_params, student_params = _matching_tensors(
            list(self.module.named_parameters()), list(student.named_parameters()), "parameters"
        )
        if teacher_params:
            torch._foreach_copy_(teacher_params, [p.detach() for p in student_params])
        self._copy_buffers(student)

    def _copy_buffers(self, student: torch.nn.Module) -> None:
        teacher_buffers, student_buffers = _matching_tensors(
            list(self.module.named_buffers()), list(student.named_buffers()), "buffers"
        )
        if teacher_buffers:
            torch._foreach_copy_(teacher_buffers, student_buffers)


def register_ema_update(
    optimizer: torch.optim.Optimizer, update_fn: Callable[[], None]
) -> RemovableHandle:
    """Run ``update_fn()`` after each real step of ``optimizer``.

    The hook fires from ``optimizer.step()``, so it runs once per optimizer step whatever
    the gradient accumulation, and not at all when the step is skipped by
    ``GradScaler.step`` (inf/nan gradients) or by ESPnet's Trainer (non-finite grad norm).
    Optimizers with built-in AMP scaling (``fused=True``) are still called by the scaler on
    inf gradients and skip the update themselves; their ``found_inf`` flag is checked so
    the teacher skips it too.

    Returns:
        handle whose ``remove()`` unregisters the hook.
    """

    def hook(opt: torch.optim.Optimizer, args, kwargs) -> None:
        found_inf = getattr(opt, "found_inf", None)
        if found_inf is not None and bool(found_inf):
            return
        update_fn()

    return optimizer.register_step_post_hook(hook)


def attach_ema_teacher(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    total_steps_fn: Callable[[], int],
) -> Optional[RemovableHandle]:
    """Wire a model's EMA teacher into a training run; call once per optimizer.

    Sets the teacher's schedule length (``total_steps_fn()`` optimizer steps; only called
    when the model has a teacher, at ``model.ssl_objective.teacher``) and runs
    ``model.after_optimizer_step()`` (EMA step, temperature clamp) after each real step of
    ``optimizer`` (see :func:`register_ema_update`).

    Returns:
        the hook's handle, or None for a model without ``after_optimizer_step``.
    """
    teacher = getattr(getattr(model, "ssl_objective", None), "teacher", None)
    if teacher is not None:
        total = total_steps_fn()
        teacher.set_total_steps(total)
        logging.info(f"EMA teacher: cosine momentum schedule over {total} optimizer steps")
    if not hasattr(model, "after_optimizer_step"):
        return None
    return register_ema_update(optimizer, model.after_optimizer_step)
