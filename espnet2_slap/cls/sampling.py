"""Balanced sampling by inverse label frequency (AudioSet protocol of AudioMAE), packed.

Each training epoch draws ``num_samples`` clips with replacement, clip ``u`` with probability
proportional to ``sum over its labels l of 1 / count(l)``, so rare classes are seen about as
often as frequent ones. The drawn clips, in draw order, are then cut into token-budget
batches by the plugin's :class:`TokenBudgetBatchSampler` (same packing rule, same data
parallel split), so balanced sampling and sequence packing combine.
"""

from collections import Counter
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Union

import numpy as np

from espnet2_slap.data.packing_sampler import TokenBudgetBatchSampler

NO_LABEL = "<blank>"  # ESPnet's CLS recipes write it for a clip without a label


def read_utt2labels(path: Union[str, Path]) -> Dict[str, List[str]]:
    """``utt_id label label ...`` lines (ESPnet's CLS ``text`` file) -> labels per clip."""
    utt2labels = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if fields:
                utt2labels[fields[0]] = [label for label in fields[1:] if label != NO_LABEL]
    if not utt2labels:
        raise ValueError(f"{path}: no labelled clip")
    return utt2labels


def inverse_frequency_weights(utt2labels: Mapping[str, List[str]]) -> Dict[str, float]:
    """Sampling weight of each clip: the sum of ``1 / count(label)`` over its labels.

    A clip without any label gets weight 0 (it is never drawn).
    """
    counts = Counter(label for labels in utt2labels.values() for label in labels)
    return {utt: float(sum(1.0 / counts[label] for label in labels)) for utt, labels in utt2labels.items()}


class BalancedPackingSampler:
    """Per-epoch weighted draw with replacement, packed within the token budget.

    Has the interface :class:`~espnet2_slap.data.packing_iter_factory.PackingIterFactory`
    reads (``batches``, ``seed``, ``tokens_of``, ``token_budget``).

    Args:
        sampler: the packing sampler over all training clips (budget, seed, ranks).
        utt2weight: sampling weight of each clip (clips absent here get weight 0).
        num_samples: clips drawn per epoch (default: the number of clips).
    """

    def __init__(
        self,
        sampler: TokenBudgetBatchSampler,
        utt2weight: Mapping[str, float],
        num_samples: Optional[int] = None,
    ):
        self.sampler = sampler
        self._utt_ids = sorted(utt2weight)
        weights = np.array([utt2weight[u] for u in self._utt_ids], dtype=np.float64)
        if (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("balanced sampling needs non-negative weights and one positive weight")
        unknown = [u for u in self._utt_ids if not _known(sampler, u)]
        if unknown:
            raise ValueError(f"balanced sampling: {len(unknown)} labelled clips have no shape, e.g. {unknown[0]!r}")
        self._probs = weights / weights.sum()
        self._tokens = np.array([sampler.tokens_of(u) for u in self._utt_ids], dtype=np.int64)
        self.num_samples = int(num_samples or sampler.num_utterances)
        self.seed = sampler.seed
        self.token_budget = sampler.token_budget
        self.shuffle = True

    def tokens_of(self, utt_id: str) -> int:
        return self.sampler.tokens_of(utt_id)

    def draw(self, epoch: int) -> np.ndarray:
        """Indices (into the sorted labelled clips) drawn for ``epoch``: ``(num_samples,)``."""
        rng = np.random.RandomState([self.sampler.seed, epoch, 1])
        return rng.choice(len(self._utt_ids), size=self.num_samples, replace=True, p=self._probs)

    def batches(self, epoch: int, shuffle: Optional[bool] = None) -> List[List[str]]:
        """This rank's batches of ``epoch``; ``shuffle=False`` gives the plain packing."""
        if shuffle is False:
            return self.sampler.batches(epoch, shuffle=False)
        drawn = self.draw(epoch)
        # Keys in draw order: the sorted-order packing of the position keys is the draw order.
        width = len(str(len(drawn)))
        positions = {f"{i:0{width}d}": int(self._tokens[d]) for i, d in enumerate(drawn)}
        packer = TokenBudgetBatchSampler(
            positions,
            self.sampler.token_budget,
            seed=self.sampler.seed,
            shuffle=False,
            world_size=self.sampler.world_size,
            rank=self.sampler.rank,
        )
        return [[self._utt_ids[drawn[int(key)]] for key in batch] for batch in packer.batches(epoch)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_samples={self.num_samples}, inner={self.sampler!r})"


def _known(sampler: TokenBudgetBatchSampler, utt_id: str) -> bool:
    try:
        sampler.tokens_of(utt_id)
        return True
    except KeyError:
        return False
