"""SLAPTrainer: ESPnet's ``Trainer`` with what a SLAP run needs.

* ``--resume`` keeps the learning-rate schedule on this run's planned optimizer steps
  (:class:`PlannedScheduleTrainer`, also the tagging task's trainer): the checkpoint holds
  the position on the curve, the run's own count its length.
* A run that starts from initial weights (``--init_param``, e.g. fine-tuning a pretrained
  SLAP model) starts a fresh EMA teacher schedule: :meth:`SLAPTrainer.run` is the one point
  between ESPnet loading those weights and ``--resume`` loading ``checkpoint.pth``, so it
  restarts the teachers there (:func:`espnet2_slap.ssl.ema_teacher.restart_ema_teachers`
  says what that means); a resumed run then continues its saved schedule.
* Attention plots are skipped. ESPnet runs them on rank 0 alone, and the model's forward
  calls collectives (the contrastive loss gathers every rank's embeddings, the Sinkhorn
  centring all-reduces) that no other rank would join: gloo aborts, NCCL hangs. The SLAP
  encoders do not use ESPnet's attention modules either, so there would be nothing to plot.
* ``--use_amp true`` on a GPU is ESPnet's own autocast (bf16 where the GPU supports it).
  ESPnet's autocast is CUDA-only, so with ``--ngpu 0`` each epoch runs under
  ``torch.autocast("cpu", dtype=torch.bfloat16)`` instead. The losses compute their logits,
  Sinkhorn-Knopp and softmaxes in float32 (see ``espnet2_slap.utils.precision``).
* A clip that fails to load is skipped by the packing iterator
  (:mod:`espnet2_slap.data.robust_dataset`); the number skipped in an epoch is reported
  as the stat ``skipped_files`` of that epoch (per rank), e.g. in
  ``exp/<tag>/train.log``: ``1epoch results: [train] ... skipped_files=2``. It is
  registered in the epoch's last step, so the epoch's step counts stay exact.
"""

import contextlib
import logging

import torch
from espnet2.train.trainer import Trainer

from espnet2_slap.data.robust_dataset import SkippedFilesCount
from espnet2_slap.ssl.ema_teacher import restart_ema_teachers
from espnet2_slap.train.optimizer_steps import keep_planned_length, scheduler_length


def cpu_autocast(use_amp: bool, ngpu: int):
    """bf16 autocast for a CPU run with ``--use_amp true``; a no-op context otherwise."""
    if use_amp and ngpu == 0:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class PlannedScheduleTrainer(Trainer):
    """ESPnet's Trainer whose ``--resume`` keeps the schedulers on this run's planned length.

    The schedulers were built with this run's planned optimizer steps; loading the
    checkpoint restores the position on the curve and, with it, the interrupted run's length,
    which :func:`keep_planned_length` puts back when the plan changed.
    """

    @classmethod
    def resume(cls, checkpoint, model, reporter, optimizers, schedulers, scaler, ngpu=0,
               strict=True) -> None:
        planned = [scheduler_length(s) for s in schedulers]
        super().resume(checkpoint=checkpoint, model=model, reporter=reporter,
                       optimizers=optimizers, schedulers=schedulers, scaler=scaler, ngpu=ngpu,
                       strict=strict)
        for scheduler, length in zip(schedulers, planned):
            keep_planned_length(scheduler, length)


class SLAPTrainer(PlannedScheduleTrainer):
    """ESPnet's Trainer; fresh teacher schedule unless resumed, no attention plots,
    CPU bf16 autocast and skipped-file counts."""

    @classmethod
    def run(cls, model, *args, **kwargs) -> None:
        restart_ema_teachers(model)  # a resumed run restores the saved step in Trainer.run
        super().run(model, *args, **kwargs)

    @classmethod
    def plot_attention(cls, *args, **kwargs) -> None:
        """Skipped: rank 0 alone would call the model's collectives (see module docstring)."""
        logging.info("SLAPTrainer: attention plots are not supported; --num_att_plot is ignored")

    @classmethod
    def train_one_epoch(
        cls,
        model,
        iterator,
        optimizers,
        schedulers,
        scaler,
        reporter,
        summary_writer,
        options,
        distributed_option,
    ) -> bool:
        batches = SkippedFilesCount(iterator, lambda n: _report_skipped(reporter, n))
        with cpu_autocast(options.use_amp, options.ngpu):
            all_steps_are_invalid = super().train_one_epoch(
                model,
                batches,
                optimizers,
                schedulers,
                scaler,
                reporter,
                summary_writer,
                options,
                distributed_option,
            )
        return all_steps_are_invalid

    @classmethod
    def validate_one_epoch(cls, model, iterator, reporter, options, distributed_option) -> None:
        batches = SkippedFilesCount(iterator, lambda n: _report_skipped(reporter, n))
        with cpu_autocast(options.use_amp, options.ngpu):
            super().validate_one_epoch(model, batches, reporter, options, distributed_option)


def _report_skipped(reporter, skipped: int) -> None:
    """Register the epoch's ``skipped_files`` as the first stat of its last step.

    The trainer registers that batch's stats in the same step and closes it, so the
    reporter counts no extra step; the step's value is the epoch's stat (the other steps
    hold none of it).
    """
    if skipped:
        logging.warning(f"{skipped} clips could not be loaded and were skipped this epoch")
    reporter.register({"skipped_files": skipped})
