"""ESPnet iterator factory that feeds token-budget packed batches to the Trainer.

ESPnet's Trainer calls ``iter_factory.build_iter(epoch)`` once per epoch and iterates
``(utt_ids, batch)`` pairs. :class:`PackingIterFactory` draws that epoch's batches from a
:class:`TokenBudgetBatchSampler` (a fresh random packing each epoch) and hands them to a
``DataLoader`` as its ``batch_sampler``: each batch is a list of utterance ids, which the
loader turns into ``dataset[utt_id]`` look-ups, exactly like ESPnet's SequenceIterFactory.

:func:`build_packing_iter_factory` is the task-side builder, the counterpart of
``AbsTask.build_sequence_iter_factory`` for ``iterator_type: task``.
"""

import argparse
import logging
from functools import partial
from typing import AbstractSet, Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from espnet2.iterators.abs_iter_factory import AbsIterFactory
from espnet2.iterators.sequence_iter_factory import worker_init_fn
from torch.utils.data import DataLoader

from espnet2_slap.data.packing_sampler import (
    TokenBudgetBatchSampler,
    utt2tokens_from_shape_file,
)
from espnet2_slap.data.preprocessor import with_data_pass
from espnet2_slap.data.robust_dataset import SkipBadFilesCollate, SkipBadFilesDataset


class PackingIterFactory(AbsIterFactory):
    """Build one epoch's ``DataLoader`` over the sampler's batches.

    Args:
        dataset: ESPnet-style dataset; ``dataset[utt_id]`` returns ``(utt_id, data)``.
        sampler: token-budget sampler (already set up for this rank).
        num_workers: ``DataLoader`` worker processes.
        collate_fn: turns a list of ``(utt_id, data)`` into ``(utt_ids, batch)``.
        pin_memory: pin batch tensors (when training on GPU).
        num_iters_per_epoch: ESPnet's ``--num_iters_per_epoch``. When set, the sampler's
            packings of data passes 1, 2, 3, ... form one stream of batches and epoch ``e``
            runs batches ``[(e - 1) * n, e * n)`` of it, so an epoch may end inside a data
            pass and the next one carries on where it stopped (as in ESPnet).

    A dataset that ``takes_data_pass`` (the task's per-load draws) gets ``(utt_id,
    data_pass)`` keys, the pass each batch was packed in.
    """

    def __init__(
        self,
        dataset: Any,
        sampler: TokenBudgetBatchSampler,
        num_workers: int = 0,
        collate_fn: Optional[Callable] = None,
        pin_memory: bool = False,
        num_iters_per_epoch: Optional[int] = None,
    ):
        if num_iters_per_epoch is not None and num_iters_per_epoch < 1:
            raise ValueError(f"num_iters_per_epoch={num_iters_per_epoch} must be >= 1 or None")
        self.dataset = dataset
        self.sampler = sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.num_iters_per_epoch = num_iters_per_epoch
        self._pass_sizes: Dict[Tuple[int, Optional[bool]], int] = {}

    def build_iter(self, epoch: int, shuffle: Optional[bool] = None) -> DataLoader:
        """``DataLoader`` yielding ``(utt_ids, batch)`` for every batch of ``epoch``.

        Args:
            epoch: ESPnet epoch number, counted from 1.
            shuffle: override of the sampler's ``shuffle`` (``None`` keeps it).
        """
        if self.num_iters_per_epoch is None:
            batches = self.sampler.batches(epoch, shuffle=shuffle)
            passes = [epoch] * len(batches)
        else:
            batches, passes = self._stream_slice(epoch, shuffle)
        if getattr(self.dataset, "takes_data_pass", False):
            batches = with_data_pass(batches, passes)
        return DataLoader(
            dataset=self.dataset,
            batch_sampler=batches,
            num_workers=self.num_workers,
            collate_fn=self.collate_fn,
            pin_memory=self.pin_memory,
            worker_init_fn=partial(worker_init_fn, base_seed=epoch + self.sampler.seed),
        )

    def _stream_slice(
        self, epoch: int, shuffle: Optional[bool]
    ) -> Tuple[List[List[str]], List[int]]:
        """Batches ``[(epoch - 1) * n, epoch * n)`` of the stream of data passes 1, 2, ...,
        and the data pass of each."""
        if epoch < 1:
            raise ValueError(f"epoch={epoch} must be >= 1 with num_iters_per_epoch")
        skip = (epoch - 1) * self.num_iters_per_epoch
        data_pass = 1
        # passes that end before this epoch starts are only counted, not kept
        while skip >= self._pass_size(data_pass, shuffle):
            skip -= self._pass_size(data_pass, shuffle)
            data_pass += 1
        batches: List[List[str]] = []
        passes: List[int] = []
        while len(batches) < self.num_iters_per_epoch:
            pass_batches = self.sampler.batches(data_pass, shuffle=shuffle)
            self._pass_sizes[data_pass, shuffle] = len(pass_batches)
            taken = pass_batches[skip : skip + self.num_iters_per_epoch - len(batches)]
            batches += taken
            passes += [data_pass] * len(taken)
            skip = 0
            data_pass += 1
        return batches, passes

    def _pass_size(self, data_pass: int, shuffle: Optional[bool]) -> int:
        """Number of this rank's batches in ``data_pass`` (remembered, it costs a packing)."""
        if (data_pass, shuffle) not in self._pass_sizes:
            size = len(self.sampler.batches(data_pass, shuffle=shuffle))
            self._pass_sizes[data_pass, shuffle] = size
        return self._pass_sizes[data_pass, shuffle]


def build_packing_iter_factory(
    args: argparse.Namespace,
    iter_options: Any,
    mode: str,
    tokens_fn: Callable[[int], int],
    build_dataset: Callable[[AbstractSet[str]], Any],
    skip_bad_files: bool = False,
) -> PackingIterFactory:
    """Token-budget counterpart of ``AbsTask.build_sequence_iter_factory``.

    Args:
        args: parsed task arguments; uses ``seed``, ``batch_tokens``,
            ``valid_batch_tokens`` (optional, ``None`` = ``batch_tokens``), ``num_workers``
            and ``ngpu``.
        iter_options: ESPnet ``IteratorOptions`` of ``mode``; uses ``shape_files[0]``
            (lengths of the audio), ``train`` (shuffle), ``distributed``, ``collate_fn``
            and ``num_iters_per_epoch``.
        mode: ``"train"`` or ``"valid"``.
        tokens_fn: patch tokens of a clip of the given length (the shape file's first number).
        build_dataset: builds the dataset restricted to the given utterance ids, e.g.
            ``lambda keys: cls.build_dataset(args, iter_options, keys)``.
        skip_bad_files: a clip that fails to load is skipped with a warning instead of
            stopping training, and ``batch["skipped_files"]`` counts such clips (see
            :mod:`espnet2_slap.data.robust_dataset`; the trainer must remove that entry,
            as :class:`espnet2_slap.train.trainer.SLAPTrainer` does).

    Raises:
        ValueError: another ``mode`` (attention plots: route ``plot_att`` to ESPnet's own
            iterator or set ``--num_att_plot 0``), no shape file, or a bad budget.
    """
    if mode not in ("train", "valid"):
        raise ValueError(
            f"build_packing_iter_factory: mode={mode!r} is not supported, only 'train' and "
            f"'valid' (build 'plot_att' with AbsTask.build_sequence_iter_factory)"
        )
    if not iter_options.shape_files:
        raise ValueError(f"[{mode}] the token-budget sampler needs a shape file, none is given")
    token_budget = _token_budget(args, mode)
    world_size, rank = data_parallel_rank(iter_options)
    check_accum_grad(args, iter_options)

    utt2tokens = utt2tokens_from_shape_file(iter_options.shape_files[0], tokens_fn)
    sampler = TokenBudgetBatchSampler(
        utt2tokens,
        token_budget,
        seed=args.seed,
        shuffle=iter_options.train,
        world_size=world_size,
        rank=rank,
    )
    logging.info(f"[{mode}] Batch sampler: {sampler}")
    logging.info(f"[{mode}] {packing_summary(sampler.batches(1), sampler)} (epoch 1, rank {rank})")

    # Which utterances a rank reads changes every epoch, so the dataset keeps them all.
    dataset = build_dataset(set(utt2tokens))
    logging.info(f"[{mode}] dataset:\n{dataset}")
    collate_fn = iter_options.collate_fn
    if skip_bad_files:
        dataset, collate_fn = SkipBadFilesDataset(dataset), SkipBadFilesCollate(collate_fn)
    return PackingIterFactory(
        dataset=dataset,
        sampler=sampler,
        num_workers=args.num_workers,
        collate_fn=collate_fn,
        pin_memory=args.ngpu > 0,
        num_iters_per_epoch=iter_options.num_iters_per_epoch,
    )


def packing_summary(batches: List[List[str]], sampler: TokenBudgetBatchSampler) -> str:
    """One line on batch count, clips per batch, tokens per batch and budget fill."""
    clips = np.array([len(batch) for batch in batches])
    tokens = np.array([sum(sampler.tokens_of(u) for u in batch) for batch in batches])
    return (
        f"packed batches: N-batch={len(batches)}, clips per batch mean={clips.mean():.1f} "
        f"min={clips.min()} max={clips.max()}, tokens per batch mean={tokens.mean():.0f}, "
        f"fill of token_budget={tokens.mean() / sampler.token_budget:.1%}"
    )


def data_parallel_rank(iter_options: Any) -> Tuple[int, int]:
    """``(world_size, rank)`` of this process (``(1, 0)`` unless ``iter_options.distributed``)."""
    if iter_options.distributed:
        return torch.distributed.get_world_size(), torch.distributed.get_rank()
    return 1, 0


def check_accum_grad(args: argparse.Namespace, iter_options: Any) -> None:
    """With ``--num_iters_per_epoch``, an epoch must end on an optimizer step.

    ESPnet steps the optimizer every ``--accum_grad`` batches; gradients of an epoch's
    leftover batches would be carried into the next epoch in memory but not into the
    checkpoint, so a resumed run would differ.
    """
    accum_grad = getattr(args, "accum_grad", 1) or 1
    num_iters = getattr(iter_options, "num_iters_per_epoch", None)
    if iter_options.train and num_iters is not None and num_iters % accum_grad != 0:
        raise ValueError(
            f"--num_iters_per_epoch {num_iters} must be a multiple of --accum_grad "
            f"{accum_grad}, so that every epoch (and checkpoint) ends on an optimizer step"
        )


def _token_budget(args: argparse.Namespace, mode: str) -> int:
    budget = getattr(args, "batch_tokens", None)
    name = "--batch_tokens"
    if mode == "valid" and getattr(args, "valid_batch_tokens", None) is not None:
        budget, name = args.valid_batch_tokens, "--valid_batch_tokens"
    if budget is None or isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"[{mode}] {name} must be a positive integer, got {budget!r}")
    return budget
