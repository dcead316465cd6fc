"""Keep training when a clip of the training list cannot be read.

A file that was fine when stage 3 filtered the data may fail later (deleted, truncated,
unreadable disk). ESPnet's loaders raise, which stops training. Here:

* :class:`SkipBadFilesDataset` wraps ``dataset[utt_id]``: a failing or empty item becomes
  ``(utt_id, None)`` and a warning naming the clip and the error is logged;
* :class:`SkipBadFilesCollate` drops those items from the batch and stores how many it
  dropped under ``batch["skipped_files"]`` (a 0-d int64 tensor), so the count travels from
  the ``DataLoader`` workers to the training loop;
* :class:`SkippedFilesCount` (used by :class:`espnet2_slap.train.trainer.SLAPTrainer`)
  removes that entry before the model sees the batch, sums it over the epoch, skips a
  batch whose every clip failed and hands the epoch's sum over just before its last batch.

A batch loses its bad clips, so it holds fewer tokens than packed; every other clip of the
epoch is still used exactly once.
"""

import logging
from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple

import numpy as np
import torch

SKIPPED_FILES_KEY = "skipped_files"


class SkipBadFilesDataset:
    """``dataset[utt_id]`` that returns ``(utt_id, None)`` for a clip it cannot load.

    Args:
        dataset: ESPnet-style dataset; ``dataset[utt_id]`` returns ``(utt_id, data)`` with
            ``data`` a dict of arrays.

    An item counts as bad when loading or preprocessing raises any ``Exception`` (missing,
    truncated or corrupt file, ...) or when one of its arrays is empty (zero-length audio,
    empty caption).
    """

    def __init__(self, dataset: Any):
        self.dataset = dataset

    def __getitem__(self, key: Any) -> Tuple[str, Any]:
        utt_id = key[0] if isinstance(key, tuple) else key  # ``(utt_id, data_pass)`` keys too
        try:
            _, data = self.dataset[key]
        except Exception as error:  # any reader error of one clip; the clip is skipped
            logging.warning(f"skipping {utt_id!r}: {type(error).__name__}: {error}")
            return utt_id, None
        empty = [name for name, value in data.items() if np.asarray(value).size == 0]
        if empty:
            logging.warning(f"skipping {utt_id!r}: empty {', '.join(empty)}")
            return utt_id, None
        return utt_id, data

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str) -> Any:
        # names(), has_name(), ... of the wrapped ESPnet dataset
        if name == "dataset":  # not set yet (e.g. while unpickling)
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(\n{self.dataset})"


class SkipBadFilesCollate:
    """Collate the loadable items; ``batch["skipped_files"]`` counts the others.

    Args:
        collate_fn: list of ``(utt_id, data)`` -> ``(utt_ids, batch)``.

    A batch whose every item failed becomes ``([], {"skipped_files": n})``.
    """

    def __init__(self, collate_fn: Callable):
        self.collate_fn = collate_fn

    def __call__(self, items: List[Tuple[str, Any]]) -> Tuple[List[str], dict]:
        good = [item for item in items if item[1] is not None]
        if good:
            utt_ids, batch = self.collate_fn(good)
        else:
            utt_ids, batch = [], {}
        batch[SKIPPED_FILES_KEY] = torch.tensor(len(items) - len(good), dtype=torch.int64)
        return utt_ids, batch

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.collate_fn})"


class SkippedFilesCount:
    """Iterate ``(utt_ids, batch)`` without the skipped-files entry, summing it in ``skipped``.

    Batches without the entry pass through unchanged; a batch with no clip left is not
    yielded (under data parallelism ESPnet's trainer then ends the epoch on every rank when
    the first rank runs out of batches, so no rank waits for another). The iterator reads
    one batch ahead, so that ``on_total(skipped)`` runs once, right before the epoch's last
    batch is handed out (when the sum is complete and the last step not yet closed).

    Args:
        iterator: ``(utt_ids, batch)`` pairs of one epoch.
        on_total: called with the epoch's number of skipped clips (None: not called).
    """

    def __init__(
        self,
        iterator: Iterable[Tuple[List[str], dict]],
        on_total: Optional[Callable[[int], None]] = None,
    ):
        self.iterator = iterator
        self.on_total = on_total
        self.skipped = 0

    def __len__(self) -> int:
        return len(self.iterator)

    def __iter__(self) -> Iterator[Tuple[List[str], dict]]:
        pending = None
        for utt_ids, batch in self.iterator:
            skipped = batch.pop(SKIPPED_FILES_KEY, None)
            if skipped is not None:
                self.skipped += int(skipped)
            if len(utt_ids) == 0:
                logging.warning("every clip of a batch failed to load; the batch is skipped")
                continue
            if pending is not None:
                yield pending
            pending = utt_ids, batch
        if pending is None:
            if self.skipped:
                logging.warning(f"no clip of this epoch could be loaded ({self.skipped} skipped)")
            return
        if self.on_total is not None:
            self.on_total(self.skipped)
        yield pending
