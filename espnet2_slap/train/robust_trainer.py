"""ESPnet's Trainer with bf16 autocast on CPU and skipped-file stats (base of ``SLAPTrainer``).

* ``--use_amp true`` on a GPU is ESPnet's own autocast (bf16 where the GPU supports it).
  ESPnet's autocast is CUDA-only, so with ``--ngpu 0`` this trainer runs each epoch under
  ``torch.autocast("cpu", dtype=torch.bfloat16)`` instead. The losses compute their logits,
  Sinkhorn-Knopp and softmaxes in float32 (see ``espnet2_slap.train.precision``).
* A clip that fails to load is skipped by the packing iterator
  (:mod:`espnet2_slap.train.robust_dataset`); the number skipped in an epoch is reported
  as the stat ``skipped_files`` of that epoch (per rank), e.g. in
  ``exp/<tag>/train.log``: ``1epoch results: [train] ... skipped_files=2``.
"""

import contextlib
import logging

import torch
from espnet2.train.trainer import Trainer

from espnet2_slap.train.robust_dataset import SkippedFilesCount


def cpu_autocast(use_amp: bool, ngpu: int):
    """bf16 autocast for a CPU run with ``--use_amp true``; a no-op context otherwise."""
    if use_amp and ngpu == 0:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class RobustTrainer(Trainer):
    """``espnet2.train.trainer.Trainer`` plus CPU bf16 autocast and skipped-file counts."""

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
