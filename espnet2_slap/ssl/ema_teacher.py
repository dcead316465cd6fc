"""The EMA teacher of L_SSL, its whole life in this module.

The teacher is a frozen copy of the student (encoder + SSL head) that trails its weights:
after every real optimizer step ``teacher = m * teacher + (1 - m) * student``, the momentum
``m`` rising from 0.994 to 1.0 on a cosine schedule (paper section 3.1).

* **Built** by the SSL objective, ``EMATeacher(student)``: a deep copy of the modules it
  mirrors; it keeps a reference to them (not a submodule), so it knows whom to follow. The
  copy and the counters are parameters and buffers of the model: state-dict keys
  ``ssl_objective.teacher.module.*``, ``.step``, ``.merged_checkpoints``.
* **Started**: until its first EMA update every training pass re-copies the student
  (:meth:`EMATeacher.start_from_student`, called by the objective before the teacher
  pass), so weights that ESPnet's ``--init_param`` loads into the student after the model
  was built reach the teacher. The student does not change before the first step: exact.
* **Stepped**: :func:`attach_ema_teachers`, called once by the task when it builds the
  optimizer, sets the schedule length (the run's planned optimizer steps, the same count
  that drives the learning-rate schedule, ``espnet2_slap.train.optimizer_steps``) and
  registers an optimizer step post-hook (:func:`after_each_real_step`) that moves every
  teacher once per real optimizer step: not per backward under gradient accumulation, not
  on a step that AMP or ESPnet skipped.
* **Restarted for fine-tuning**: :func:`restart_ema_teachers`, called by the trainer as a
  run starts (after ``--init_param`` loaded the pretrained step count, before ``--resume``
  restores a checkpoint), sets ``step = 0``: the teacher is copied from the loaded student
  and the momentum follows this run's schedule; a resumed run then continues its own.
* **Checkpointed and averaged**: ``step`` is saved, ``total_steps`` is not (a resumed run
  recomputes it from its own epochs). ESPnet's n-best averaging sums integer buffers, so an
  average of n checkpoints holds the sum of their steps and ``merged_checkpoints = n``;
  loading divides one by the other (:meth:`EMATeacher._load_from_state_dict`).
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
    not saved: set by :func:`attach_ema_teachers` each time a run starts).

    Args:
        student: the module to copy (deep copy) and to follow in :meth:`update`.
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
        # In a tuple, so that the student is no submodule of the teacher (no state-dict keys)
        self._student = (student,)
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

    @property
    def student(self) -> torch.nn.Module:
        """The module the teacher follows (the one it was built from)."""
        return self._student[0]

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
        at the next training pass and the momentum starts from ``start``."""
        self.step.zero_()

    def start_from_student(self) -> None:
        """Before the first EMA update, make the teacher an exact copy of its student again.

        Called before each training pass of the teacher; a no-op once ``step > 0`` (a
        resumed run keeps its saved teacher).
        """
        if int(self.step) == 0:
            self.reset_from(self.student)

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
    def update(self, student: Optional[torch.nn.Module] = None) -> None:
        """One EMA step: ``teacher = m * teacher + (1 - m) * student``; buffers are copied.

        Args:
            student: a module with the same parameter names as the one the teacher was
                built from (unwrapped from DDP); default: that module.
        """
        student = self.student if student is None else student
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


def after_each_real_step(
    optimizer: torch.optim.Optimizer, fn: Callable[[], None]
) -> RemovableHandle:
    """Run ``fn()`` after each real step of ``optimizer``.

    The hook fires from ``optimizer.step()``, so it runs once per optimizer step whatever
    the gradient accumulation, and not at all when the step is skipped by
    ``GradScaler.step`` (inf/nan gradients) or by ESPnet's Trainer (non-finite grad norm).
    Optimizers with built-in AMP scaling (``fused=True``) are still called by the scaler on
    inf gradients and skip the update themselves; their ``found_inf`` flag is checked so
    ``fn`` is skipped too.

    Returns:
        handle whose ``remove()`` unregisters the hook.
    """

    def hook(opt: torch.optim.Optimizer, args, kwargs) -> None:
        found_inf = getattr(opt, "found_inf", None)
        if found_inf is not None and bool(found_inf):
            return
        fn()

    return optimizer.register_step_post_hook(hook)


def ema_teachers(model: torch.nn.Module) -> List[EMATeacher]:
    """Every :class:`EMATeacher` inside ``model``."""
    return [module for module in model.modules() if isinstance(module, EMATeacher)]


def attach_ema_teachers(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    total_steps_fn: Callable[[], int],
) -> List[RemovableHandle]:
    """Wire the model's EMA teachers into a training run; call once per run.

    Sets each teacher's schedule length to ``total_steps_fn()`` optimizer steps (called
    only when the model has a teacher) and updates every teacher from its student after each
    real step of ``optimizer`` (:func:`after_each_real_step`).

    Returns:
        one hook handle per teacher (empty for a model without one).
    """
    teachers = ema_teachers(model)
    if not teachers:
        return []
    total = total_steps_fn()
    handles = []
    for teacher in teachers:
        teacher.set_total_steps(total)
        handles.append(after_each_real_step(optimizer, teacher.update))
    logging.info(f"EMA teacher: cosine momentum schedule over {total} optimizer steps")
    return handles


def restart_ema_teachers(model: torch.nn.Module) -> None:
    """Start every teacher's schedule again (a run from trained weights, e.g. fine-tuning).

    The trainer calls it as a run starts: after ``--init_param`` loaded the pretrained
    step count, before ``--resume`` restores the checkpoint's step and teacher.
    """
    for teacher in ema_teachers(model):
        teacher.restart_schedule()
