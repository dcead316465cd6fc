"""Random mini-batches limited by their total number of patch tokens.

SLAP packs every non-padded patch token of a batch into one sequence, so what a device can
hold is a number of tokens, not a number of clips. :class:`TokenBudgetBatchSampler` draws
random (not length-sorted) batches whose token sum stays within ``token_budget``.

Packing rule of one epoch (identical on every rank, no communication needed):

1. Order: the utterance ids sorted, then (``shuffle=True``) permuted by a generator seeded
   with ``(seed, epoch)``. ``shuffle=False`` keeps the sorted order for every epoch.
2. Next-fit: walk that order; the open batch takes the next utterance while its token sum
   stays ``<= token_budget``, otherwise it closes and the utterance opens the next batch.
   Batches are thus runs of consecutive utterances of a random order: short and long clips
   mix, and every batch is maximal (it plus the next batch's first utterance would exceed
   the budget). An utterance longer than the budget ends up alone in its batch.
3. Data parallel (``world_size > 1``): while the number of batches is not a multiple of
   ``world_size``, the batch with the most tokens among those holding two or more
   utterances is cut into two runs of near-equal tokens (both stay within the budget).
   Rank ``r`` then takes batches ``r, r + world_size, r + 2 * world_size, ...``, so all
   ranks run the same number of steps and every utterance is used exactly once per epoch.

``token_budget`` bounds one batch, i.e. what ONE device packs per step; a data-parallel
step processes up to ``world_size * token_budget`` tokens.
"""

import logging
from numbers import Integral
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

_MAX_SEED = 2**32 - 1


class TokenBudgetBatchSampler:
    """Per-epoch random batches of utterance ids with at most ``token_budget`` tokens each.

    Args:
        utt2tokens: patch tokens of each utterance (positive integers).
        token_budget: maximum token sum of a batch (per device and step).
        seed: base seed; the order of epoch ``e`` is drawn from ``(seed, e)``.
        shuffle: draw a random order each epoch (training); ``False`` packs the sorted ids
            the same way every epoch (validation).
        world_size: number of data-parallel ranks.
        rank: this process' rank in ``[0, world_size)``.
        stream_id: ``None`` seeds epoch ``e`` with ``(seed, e)``; an integer seeds it with
            ``(seed, e, stream_id)``, so the shards of a sharded corpus draw independent
            orders (see :mod:`espnet2_slap.data.sharded_iter_factory`).
    """

    def __init__(
        self,
        utt2tokens: Mapping[str, int],
        token_budget: int,
        seed: int,
        shuffle: bool = True,
        world_size: int = 1,
        rank: int = 0,
        stream_id: Optional[int] = None,
    ):
        _check_int_in_range("token_budget", token_budget, 1, None)
        if stream_id is not None:
            _check_int_in_range("stream_id", stream_id, 0, _MAX_SEED)
        _check_int_in_range("seed", seed, 0, _MAX_SEED)
        _check_int_in_range("world_size", world_size, 1, None)
        _check_int_in_range("rank", rank, 0, world_size - 1)
        if len(utt2tokens) == 0:
            raise ValueError("utt2tokens is empty: there is nothing to batch")
        for utt_id, tokens in utt2tokens.items():
            if not isinstance(tokens, Integral) or isinstance(tokens, bool) or tokens < 1:
                raise ValueError(
                    f"utt2tokens[{utt_id!r}] = {tokens!r}: token counts must be positive integers"
                )

        self.token_budget = int(token_budget)
        self.seed = int(seed)
        self.shuffle = shuffle
        self.world_size = int(world_size)
        self.rank = int(rank)
        self.stream_id = stream_id
        self._utt_ids = np.array(sorted(utt2tokens), dtype=object)
        self._tokens = np.array([int(utt2tokens[u]) for u in self._utt_ids], dtype=np.int64)
        self._warn_oversize()

    @property
    def num_utterances(self) -> int:
        return len(self._utt_ids)

    @property
    def total_tokens(self) -> int:
        return int(self._tokens.sum())

    def tokens_of(self, utt_id: str) -> int:
        """Patch tokens of one utterance."""
        index = int(np.searchsorted(self._utt_ids, utt_id))
        if index == len(self._utt_ids) or self._utt_ids[index] != utt_id:
            raise KeyError(f"{utt_id!r} is not one of the sampler's utterances")
        return int(self._tokens[index])

    def batches(self, epoch: int, shuffle: Optional[bool] = None) -> List[List[str]]:
        """This rank's batches of ``epoch``, in the order they are to be run.

        Args:
            epoch: epoch number (ESPnet counts from 1); seeds the order when shuffling.
            shuffle: override of the constructor's ``shuffle`` for this call.
        """
        _check_int_in_range("epoch", epoch, 0, _MAX_SEED)
        shuffle = self.shuffle if shuffle is None else shuffle
        if shuffle:
            # RandomState's stream is frozen across NumPy versions, so a resumed run
            # reproduces the epoch's batches even after a NumPy upgrade.
            entropy = [self.seed, epoch] + ([] if self.stream_id is None else [self.stream_id])
            order = np.random.RandomState(entropy).permutation(self.num_utterances)
        else:
            order = np.arange(self.num_utterances)
        cumulative = np.concatenate([[0], np.cumsum(self._tokens[order])])
        spans = _next_fit_spans(cumulative, self.token_budget)
        spans = _split_to_multiple(spans, cumulative, self.world_size)
        return [
            self._utt_ids[order[start:end]].tolist()
            for start, end in spans[self.rank :: self.world_size]
        ]

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(token_budget={self.token_budget}, "
            f"utterances={self.num_utterances}, total_tokens={self.total_tokens}, "
            f"max_tokens={int(self._tokens.max())}, shuffle={self.shuffle}, seed={self.seed}, "
            f"world_size={self.world_size}, rank={self.rank})"
        )

    def _warn_oversize(self) -> None:
        oversize = self._tokens > self.token_budget
        if oversize.any():
            longest = int(np.argmax(self._tokens))
            logging.warning(
                f"{int(oversize.sum())} of {self.num_utterances} utterances exceed "
                f"token_budget={self.token_budget} (longest: {self._utt_ids[longest]!r} with "
                f"{int(self._tokens[longest])} tokens); each forms a batch of its own"
            )


def _next_fit_spans(cumulative: np.ndarray, budget: int) -> List[Tuple[int, int]]:
    """Greedy runs ``[start, end)`` of the order whose token sums stay within ``budget``.

    Args:
        cumulative: ``(U + 1,)`` running token sum of the ordered utterances, starting at 0.
        budget: maximum token sum of a run; a single longer utterance forms its own run.
    """
    spans = []
    start, total = 0, len(cumulative) - 1
    while start < total:
        # last index whose running sum is still within budget of the run's start
        end = int(np.searchsorted(cumulative, cumulative[start] + budget, side="right")) - 1
        end = max(end, start + 1)
        spans.append((start, end))
        start = end
    return spans


def _split_to_multiple(
    spans: List[Tuple[int, int]], cumulative: np.ndarray, world_size: int
) -> List[Tuple[int, int]]:
    """Cut the fullest multi-utterance runs in two until ``len(spans) % world_size == 0``.

    Raises:
        ValueError: fewer utterances than the number of batches every rank needs.
    """
    target = -(-len(spans) // world_size) * world_size
    num_utterances = len(cumulative) - 1
    if num_utterances < target:
        raise ValueError(
            f"cannot give each of the {world_size} ranks the same number of batches: the "
            f"{num_utterances} utterances pack into {len(spans)} batches, so every rank "
            f"needs {target // world_size} and {target} batches need at least {target} "
            f"utterances"
        )
    spans = list(spans)
    while len(spans) < target:
        splittable = [i for i, (start, end) in enumerate(spans) if end - start >= 2]
        index = max(splittable, key=lambda i: cumulative[spans[i][1]] - cumulative[spans[i][0]])
        start, end = spans[index]
        # cut point whose prefix sum is closest to half of the run's tokens
        middle = cumulative[start] + cumulative[end]
        cut = start + 1 + int(np.argmin(np.abs(2 * cumulative[start + 1 : end] - middle)))
        spans[index : index + 1] = [(start, cut), (cut, end)]
    return spans


def _check_int_in_range(name: str, value: int, low: int, high: Optional[int]) -> None:
    if not isinstance(value, Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name}={value} must be {bounds}")


def utt2tokens_from_shape_file(
    path: Union[str, Path], tokens_fn: Callable[[int], int]
) -> Dict[str, int]:
    """Read an ESPnet shape file and map each utterance's length to its patch tokens.

    Each non-blank line is ``utt_id num_samples`` or ``utt_id num_samples,channels,...``;
    only the first number (the length) is used.

    Args:
        path: the shape file, e.g. ``exp/slap_stats/train/speech_shape``.
        tokens_fn: patch tokens of a clip of the given length.

    Raises:
        ValueError: a malformed line, a duplicated id, a non-positive token count, or no
            utterance at all; the message names the file and line.
    """
    utt2tokens: Dict[str, int] = {}
    with Path(path).open("r", encoding="utf-8") as f:
        for line_number, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            where = f"{path}:{line_number}"
            if len(fields) != 2:
                raise ValueError(
                    f"{where}: expected 'utt_id length[,dim...]', got {line.rstrip()!r}"
                )
            utt_id, shape = fields
            try:
                length = int(shape.split(",")[0])
            except ValueError:
                raise ValueError(
                    f"{where}: length of {utt_id!r} is not an integer: {shape!r}"
                ) from None
            if length < 1:
                raise ValueError(f"{where}: length of {utt_id!r} must be positive, got {length}")
            if utt_id in utt2tokens:
                raise ValueError(f"{where}: utterance {utt_id!r} appears twice")
            tokens = tokens_fn(length)
            if not isinstance(tokens, Integral) or isinstance(tokens, bool) or tokens < 1:
                raise ValueError(
                    f"{where}: tokens_fn({length}) for {utt_id!r} gave {tokens!r}, "
                    f"expected a positive integer"
                )
            utt2tokens[utt_id] = int(tokens)
    if not utt2tokens:
        raise ValueError(f"{path}: shape file lists no utterance")
    return utt2tokens
