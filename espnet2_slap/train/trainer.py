"""SLAPTrainer: ESPnet's ``Trainer`` with what a SLAP run needs.

* A run that starts from initial weights (``--init_param``, e.g. fine-tuning a pretrained
  SLAP model) starts a fresh EMA teacher schedule: ESPnet loads those weights, teacher step
  count included, before the trainer runs; :meth:`SLAPTrainer.run` then resets the step, so
  the teacher is copied from the loaded student at the first step and its momentum follows
  this run's schedule. ``--resume`` loads ``checkpoint.pth`` afterwards (inside
  ``Trainer.run``), which restores the saved step and teacher: a resumed run continues.
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
  ``exp/<tag>/train.log``: ``1epoch results: [train] ... skipped_files=2``.
"""

import contextlib
import logging

import torch
from espnet2.train.trainer import Trainer

from espnet2_slap.data.robust_dataset import SkippedFilesCount


def cpu_autocast(use_amp: bool, ngpu: int):
    """bf16 autocast for a CPU run with ``--use_amp true``; a no-op context otherwise."""
    if use_amp and ngpu == 0:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class SLAPTrainer(Trainer):
    """ESPnet's Trainer; fresh teacher schedule unless resumed, no attention plots,
    CPU bf16 autocast and skipped-file counts."""

    @classmethod
    def run(cls, model, *args, **kwargs) -> None:
        start_new_schedule = getattr(model, "start_new_teacher_schedule", None)
        if start_new_schedule is not None:
            start_new_schedule()  # a resumed run restores the saved step in Trainer.run
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
        batches = SkippedFilesCount(iterator)
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
        _report_skipped(reporter, batches.skipped)
        return all_steps_are_invalid

    @classmethod
    def validate_one_epoch(cls, model, iterator, reporter, options, distributed_option) -> None:
        batches = SkippedFilesCount(iterator)
        with cpu_autocast(options.use_amp, options.ngpu):
            super().validate_one_epoch(model, batches, reporter, options, distributed_option)
        _report_skipped(reporter, batches.skipped)


def _report_skipped(reporter, skipped: int) -> None:
    """Add ``skipped_files`` to the epoch's stats (one extra reporter step holding it)."""
    if skipped:
        logging.warning(f"{skipped} clips could not be loaded and were skipped this epoch")
    reporter.register({"skipped_files": skipped})
    reporter.next()
