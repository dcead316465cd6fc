"""Token-budget packing over a corpus split into shards (ESPnet's ``--multiple_iterator``).

At the paper's scale (109M clips) one process cannot hold every utterance id, path and
caption. ESPnet's answer is ``--multiple_iterator true``: every training data file and shape
file is given as a directory written by ``python -m espnet2.bin.split_scps``::

    <dir>/num_splits        K
    <dir>/split.0 ... split.{K-1}

and the iterator loads one split at a time. :class:`ShardedPackingIterFactory` reads the
same layout and keeps the packing sampler's guarantees, shard by shard:

* **Stream.** Data pass ``p`` (1, 2, ...) visits the K shards in an order drawn from
  ``(seed, p, K)``; inside shard ``s`` the batches are the packing sampler's batches of
  epoch ``p`` with ``stream_id=s`` (random, within the token budget, every clip once). The
  passes, one after the other, form one stream of batches.
* **Epochs.** Without ``--num_iters_per_epoch`` epoch ``e`` is data pass ``e``. With it,
  epoch ``e`` is batches ``[(e - 1) * n, e * n)`` of the stream: an epoch may end inside a
  shard and the next one continues there; the order is redrawn only after a full pass.
* **Ranks.** Each shard is packed for ``world_size`` ranks (the sampler gives every rank
  the same number of batches per shard), so all ranks run the same steps and the stream
  positions agree.
* **Memory.** Only the shard being consumed is loaded (its shape file, and the data files'
  entries of the clips the epoch takes from it); it is dropped before the next one. Per
  process, memory and set-up time depend on the shard size, not on the corpus size.

Finding where epoch ``e`` starts needs the batch count of every (pass, shard) before it;
counts are remembered, so a run computes each once (a resumed run packs, without loading
data, the shards of the passes before its position once).
"""

import argparse
import copy
import logging
from functools import partial
from pathlib import Path
from typing import AbstractSet, Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np
from espnet2.iterators.abs_iter_factory import AbsIterFactory
from espnet2.iterators.sequence_iter_factory import worker_init_fn
from torch.utils.data import DataLoader

from espnet2_slap.data.packing_iter_factory import (
    _token_budget,
    check_accum_grad,
    data_parallel_rank,
    packing_summary,
)
from espnet2_slap.data.packing_sampler import (
    TokenBudgetBatchSampler,
    utt2tokens_from_shape_file,
)
from espnet2_slap.data.preprocessor import with_data_pass
from espnet2_slap.data.robust_dataset import SkipBadFilesCollate, SkipBadFilesDataset

# (data pass, shard, first batch, end batch or None for the shard's end) of the stream
Segment = Tuple[int, int, int, Optional[int]]


class ShardedPackingIterFactory(AbsIterFactory):
    """One epoch's batches over a sharded corpus, loading one shard at a time.

    Args:
        num_shards: K.
        build_sampler: shard index -> the packing sampler of that shard (already set up
            for this rank); called when the shard is reached, its result kept until the
            next shard.
        build_dataset: ``(shard index, utterance ids)`` -> dataset holding those clips of
            the shard; ``dataset[utt_id]`` returns ``(utt_id, data)``.
        seed: seed of the shard order.
        shuffle: draw a shard order per data pass (training); ``False`` keeps 0..K-1.
        num_workers, collate_fn, pin_memory: ``DataLoader`` options.
        num_iters_per_epoch: ESPnet's ``--num_iters_per_epoch`` (see the module doc).
    """

    def __init__(
        self,
        num_shards: int,
        build_sampler: Callable[[int], TokenBudgetBatchSampler],
        build_dataset: Callable[[int, AbstractSet[str]], Any],
        seed: int,
        shuffle: bool = True,
        num_workers: int = 0,
        collate_fn: Optional[Callable] = None,
        pin_memory: bool = False,
        num_iters_per_epoch: Optional[int] = None,
    ):
        if num_shards < 1:
            raise ValueError(f"num_shards={num_shards} must be >= 1")
        if num_iters_per_epoch is not None and num_iters_per_epoch < 1:
            raise ValueError(f"num_iters_per_epoch={num_iters_per_epoch} must be >= 1 or None")
        self.num_shards = num_shards
        self.build_sampler = build_sampler
        self.build_dataset = build_dataset
        self.seed = seed
        self.shuffle = shuffle
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.num_iters_per_epoch = num_iters_per_epoch
        self._batch_counts: Dict[Tuple[int, int, bool], int] = {}
        self._loaded: Optional[Tuple[int, TokenBudgetBatchSampler]] = None

    def shard_order(self, data_pass: int, shuffle: bool) -> List[int]:
        """The order in which data pass ``data_pass`` visits the shards."""
        if not shuffle:
            return list(range(self.num_shards))
        rng = np.random.RandomState([self.seed, data_pass, self.num_shards])
        return rng.permutation(self.num_shards).tolist()

    def segments(self, epoch: int, shuffle: Optional[bool] = None) -> Iterator[Segment]:
        """``(data pass, shard, start, end)`` stretches of the stream that form ``epoch``.

        Lazy: a shard is read (for its batch count) only when the walk reaches it, so the
        caller loads it once, right before consuming it.
        """
        if epoch < 1:
            raise ValueError(f"epoch={epoch} must be >= 1 (ESPnet counts epochs from 1)")
        shuffle = self.shuffle if shuffle is None else shuffle
        if self.num_iters_per_epoch is None:
            for shard in self.shard_order(epoch, shuffle):
                yield epoch, shard, 0, None
            return
        skip = (epoch - 1) * self.num_iters_per_epoch
        wanted = self.num_iters_per_epoch
        data_pass = 0
        while wanted > 0:
            data_pass += 1
            for shard in self.shard_order(data_pass, shuffle):
                count = self._batch_count(data_pass, shard, shuffle)
                if skip >= count:  # the whole shard lies before this epoch
                    skip -= count
                    continue
                take = min(count - skip, wanted)
                yield data_pass, shard, skip, skip + take
                skip, wanted = 0, wanted - take
                if wanted == 0:
                    return

    def build_iter(self, epoch: int, shuffle: Optional[bool] = None) -> "_ShardedEpoch":
        """Iterable of ``(utt_ids, batch)`` over ``epoch``'s segments, shard after shard."""
        if epoch < 1:
            raise ValueError(f"epoch={epoch} must be >= 1 (ESPnet counts epochs from 1)")
        shuffle = self.shuffle if shuffle is None else shuffle
        return _ShardedEpoch(self, epoch, shuffle)

    def _sampler(self, shard: int) -> TokenBudgetBatchSampler:
        """The sampler of ``shard``; only the last shard's sampler is kept."""
        if self._loaded is None or self._loaded[0] != shard:
            self._loaded = None  # drop the previous shard before reading the next
            self._loaded = (shard, self.build_sampler(shard))
        return self._loaded[1]

    def _batch_count(self, data_pass: int, shard: int, shuffle: bool) -> int:
        key = (data_pass, shard, shuffle)
        if key not in self._batch_counts:
            batches = self._sampler(shard).batches(data_pass, shuffle=shuffle)
            self._batch_counts[key] = len(batches)
        return self._batch_counts[key]

    def _loader(self, epoch: int, segment: Segment, shuffle: bool) -> DataLoader:
        data_pass, shard, start, end = segment
        sampler = self._sampler(shard)
        all_batches = sampler.batches(data_pass, shuffle=shuffle)
        self._batch_counts[data_pass, shard, shuffle] = len(all_batches)
        batches = all_batches[start:end]
        logging.info(
            f"shard {shard} of {self.num_shards} (data pass {data_pass}, batches "
            f"{start}-{start + len(batches)} of {len(all_batches)}): "
            f"{packing_summary(batches, sampler)}"
        )
        keys = {utt_id for batch in batches for utt_id in batch}
        dataset = self.build_dataset(shard, keys)
        if getattr(dataset, "takes_data_pass", False):  # per-load draws seeded by the pass
            batches = with_data_pass(batches, [data_pass] * len(batches))
        return DataLoader(
            dataset=dataset,
            batch_sampler=batches,
            num_workers=self.num_workers,
            collate_fn=self.collate_fn,
            pin_memory=self.pin_memory,
            worker_init_fn=partial(worker_init_fn, base_seed=epoch + self.seed),
        )


class _ShardedEpoch:
    """One epoch; iterating loads shard after shard.

    ``len()`` is ``num_iters_per_epoch`` when set; without it the length is only known once
    every shard was read, so ``len()`` raises ``TypeError`` (ESPnet's trainer then logs every
    100 steps instead of 20 times per epoch).
    """

    def __init__(self, factory: ShardedPackingIterFactory, epoch: int, shuffle: bool):
        self.factory = factory
        self.epoch = epoch
        self.shuffle = shuffle

    def __len__(self) -> int:
        if self.factory.num_iters_per_epoch is None:
            raise TypeError("a sharded epoch's length is unknown before its shards are read")
        return self.factory.num_iters_per_epoch

    def __iter__(self) -> Iterator:
        for segment in self.factory.segments(self.epoch, self.shuffle):
            loader = self.factory._loader(self.epoch, segment, self.shuffle)
            yield from loader
            del loader  # the shard's dataset goes with it


def read_split_layout(paths: List[str]) -> int:
    """Number of splits shared by ESPnet split directories (``num_splits`` + ``split.N``).

    Raises:
        FileNotFoundError / ValueError: a path that is not such a directory, a missing
            split file, or directories split differently; the message names the path.
    """
    num_splits = None
    for path in paths:
        directory = Path(path)
        marker = directory / "num_splits"
        if not marker.is_file():
            raise FileNotFoundError(
                f"{path}: --multiple_iterator true needs directories written by "
                f"'python -m espnet2.bin.split_scps' (with a num_splits file); not found: {marker}"
            )
        count = int(marker.read_text().strip())
        if num_splits is not None and count != num_splits:
            raise ValueError(f"{path} has {count} splits but {paths[0]} has {num_splits}")
        num_splits = count
        missing = [i for i in range(count) if not (directory / f"split.{i}").is_file()]
        if missing:
            raise FileNotFoundError(f"{path}: split.{missing[0]} of {count} splits is missing")
    if num_splits is None:
        raise ValueError("no split directory given")
    return num_splits


def build_sharded_packing_iter_factory(
    args: argparse.Namespace,
    iter_options: Any,
    mode: str,
    tokens_fn: Callable[[int], int],
    build_dataset: Callable[[Any, AbstractSet[str]], Any],
    skip_bad_files: bool = False,
) -> ShardedPackingIterFactory:
    """Sharded counterpart of ``build_packing_iter_factory`` (``--multiple_iterator true``).

    Args:
        args: parsed task arguments (``seed``, ``batch_tokens``, ``num_workers``, ``ngpu``).
        iter_options: ESPnet ``IteratorOptions`` whose ``data_path_and_name_and_type`` and
            ``shape_files`` name split directories (``--multiple_iterator true``).
        mode: ``"train"`` (the only mode ESPnet shards).
        tokens_fn: patch tokens of a clip of the given length.
        build_dataset: ``(iter_options of one split, utterance ids)`` -> dataset, e.g.
            ``lambda options, keys: cls.build_dataset(args, options, keys)``.
        skip_bad_files: see ``build_packing_iter_factory``.
    """
    if not iter_options.shape_files:
        raise ValueError(f"[{mode}] the token-budget sampler needs a shape file, none is given")
    data_paths = [path for path, _, _ in iter_options.data_path_and_name_and_type]
    num_shards = read_split_layout(data_paths + list(iter_options.shape_files))
    token_budget = _token_budget(args, mode)
    world_size, rank = data_parallel_rank(iter_options)
    check_accum_grad(args, iter_options)

    def shard_options(shard: int) -> Any:
        options = copy.copy(iter_options)
        options.data_path_and_name_and_type = [
            (str(Path(path) / f"split.{shard}"), name, kind)
            for path, name, kind in iter_options.data_path_and_name_and_type
        ]
        options.shape_files = [str(Path(s) / f"split.{shard}") for s in iter_options.shape_files]
        return options

    def build_sampler(shard: int) -> TokenBudgetBatchSampler:
        shape_file = Path(iter_options.shape_files[0]) / f"split.{shard}"
        return TokenBudgetBatchSampler(
            utt2tokens_from_shape_file(shape_file, tokens_fn),
            token_budget,
            seed=args.seed,
            shuffle=iter_options.train,
            world_size=world_size,
            rank=rank,
            stream_id=shard,
        )

    def build_shard_dataset(shard: int, keys: AbstractSet[str]) -> Any:
        dataset = build_dataset(shard_options(shard), keys)
        return SkipBadFilesDataset(dataset) if skip_bad_files else dataset

    collate_fn = iter_options.collate_fn
    if skip_bad_files:
        collate_fn = SkipBadFilesCollate(collate_fn)
    logging.info(
        f"[{mode}] sharded packing: {num_shards} shards of {iter_options.shape_files[0]}, "
        f"token_budget={token_budget}, world_size={world_size}, rank={rank}, "
        f"num_iters_per_epoch={iter_options.num_iters_per_epoch}"
    )
    return ShardedPackingIterFactory(
        num_shards=num_shards,
        build_sampler=build_sampler,
        build_dataset=build_shard_dataset,
        seed=args.seed,
        shuffle=iter_options.train,
        num_workers=args.num_workers,
        collate_fn=collate_fn,
        pin_memory=args.ngpu > 0,
        num_iters_per_epoch=iter_options.num_iters_per_epoch,
    )


def count_packed_batches(
    shape_path: str,
    tokens_fn: Callable[[int], int],
    token_budget: int,
    seed: int,
    epochs: List[int],
    world_size: int = 1,
    rank: int = 0,
    wrap_sampler: Optional[Callable[[TokenBudgetBatchSampler], Any]] = None,
) -> List[int]:
    """This rank's number of batches in each of ``epochs`` (training order, shuffled).

    ``shape_path`` is a shape file, or a split directory (``--multiple_iterator``), whose
    shards are then read one at a time; ``wrap_sampler`` turns each packing sampler into
    the one training draws from (e.g. balanced sampling). Used for the run's planned
    optimizer steps (``espnet2_slap.train.optimizer_steps``).
    """
    if Path(shape_path).is_dir():
        num_shards = read_split_layout([shape_path])
        shards = [(Path(shape_path) / f"split.{i}", i) for i in range(num_shards)]
    else:
        shards = [(Path(shape_path), None)]
    counts = [0] * len(epochs)
    for path, stream_id in shards:
        sampler = TokenBudgetBatchSampler(
            utt2tokens_from_shape_file(path, tokens_fn),
            token_budget,
            seed=seed,
            world_size=world_size,
            rank=rank,
            stream_id=stream_id,
        )
        if wrap_sampler is not None:
            sampler = wrap_sampler(sampler)
        for i, epoch in enumerate(epochs):
            counts[i] += len(sampler.batches(epoch))
        del sampler
    return counts
