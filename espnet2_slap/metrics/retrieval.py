"""Audio-text retrieval metrics with several captions per clip (AudioCaps/Clotho protocol).

Inputs are a similarity matrix ``(n_captions, n_audio)`` (caption ``i`` vs clip ``j``) and
``caption_to_audio`` ``(n_captions,)``, the clip each caption describes.

* text -> audio: every caption is a query; its single relevant candidate is its clip.
* audio -> text: every clip is a query; its relevant candidates are all of its captions. The
  query's rank is the rank of its best-ranked caption (so R@k counts a hit when ANY of its
  captions is in the top k), and mAP@10 averages the precision at each of its captions that
  lands in the top 10, normalised by ``min(n_relevant, 10)``.

Ranking and ties (conservative): candidates are sorted by descending similarity and, among
equal similarities, every irrelevant candidate is placed before every relevant one. A
relevant candidate with score ``s`` that is the ``k``-th best relevant one therefore has rank
``k + #{irrelevant candidates with score >= s}``. A tie never helps the model: a constant
similarity matrix puts every relevant candidate after all irrelevant ones (the worst rank).

R@k and mAP@10 are reported in percent; ranks are 1-based.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from espnet2_slap.metrics.array_checks import finite_float_matrix, index_vector

RECALL_CUTOFFS = (1, 5, 10)
MAP_CUTOFF = 10


@dataclass(frozen=True)
class ChanceLevels:
    """Expected metrics (percent) of a ranking drawn uniformly at random."""

    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    map_at_10: float


@dataclass(frozen=True, eq=False)
class DirectionMetrics:
    """Retrieval metrics of one direction.

    Attributes:
        recall_at_1, recall_at_5, recall_at_10: percent of queries with rank <= k.
        map_at_10: mean average precision over the top 10, in percent.
        median_rank, mean_rank: of ``ranks``.
        ranks: ``(n_queries,)`` int64 1-based rank of each query (for audio -> text, of the
            query's best-ranked caption).
        chance: the same metrics for a random ranking.
    """

    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    map_at_10: float
    median_rank: float
    mean_rank: float
    ranks: np.ndarray
    chance: ChanceLevels


@dataclass(frozen=True, eq=False)
class RetrievalResult:
    """Both retrieval directions of one evaluation set."""

    text_to_audio: DirectionMetrics
    audio_to_text: DirectionMetrics
    n_captions: int
    n_audio: int


def conservative_ranks(relevant_scores: np.ndarray, irrelevant_scores: np.ndarray) -> np.ndarray:
    """``(m,)`` relevant and ``(n,)`` irrelevant scores of one query -> ``(m,)`` increasing
    1-based ranks of the relevant candidates; ties put irrelevant candidates first."""
    relevant_descending = np.sort(relevant_scores)[::-1]
    irrelevant_ascending = np.sort(irrelevant_scores)
    irrelevant_at_least = irrelevant_ascending.size - np.searchsorted(
        irrelevant_ascending, relevant_descending, side="left"
    )
    return np.arange(1, relevant_descending.size + 1) + irrelevant_at_least


def average_precision_at_k(relevant_ranks: np.ndarray, k: int) -> float:
    """AP@k of one query from the ``(m,)`` increasing ranks of its relevant candidates:
    ``sum_{i: r_i <= k} i / r_i / min(m, k)``."""
    positions = np.arange(1, relevant_ranks.size + 1)
    in_top_k = relevant_ranks <= k
    precision_sum = float(np.sum(positions[in_top_k] / relevant_ranks[in_top_k]))
    return precision_sum / min(relevant_ranks.size, k)


def chance_recall_at_k(n_candidates: int, n_relevant: int, k: int) -> float:
    """Probability that a random ordering puts at least one relevant candidate in the top k.

    Equals ``1 - C(n_candidates - n_relevant, k) / C(n_candidates, k)``, computed as the
    product ``prod_{i < k} (N - m - i) / (N - i)`` to avoid huge binomial coefficients.
    """
    n_irrelevant = n_candidates - n_relevant
    if k > n_irrelevant:
        return 1.0
    steps = np.arange(k, dtype=np.float64)
    all_irrelevant = np.prod((n_irrelevant - steps) / (n_candidates - steps))
    return float(1.0 - all_irrelevant)


def chance_average_precision_at_k(n_candidates: int, n_relevant: int, k: int) -> float:
    """Expected AP@k of a uniformly random ordering.

    Position ``r`` contributes ``rel(r) * (#relevant in the top r) / r``; under a random
    ordering ``P(rel(r)) = m / N`` and, given ``rel(r)``, the ``r - 1`` positions above hold
    ``(r - 1)(m - 1) / (N - 1)`` relevant candidates on average. So
    ``E[AP@k] = sum_{r <= min(k, N)} (m / N)(1 + (r - 1)(m - 1) / (N - 1)) / r / min(m, k)``.
    """
    positions = np.arange(1, min(k, n_candidates) + 1, dtype=np.float64)
    relevant_above = (
        (positions - 1) * (n_relevant - 1) / (n_candidates - 1) if n_candidates > 1 else 0.0
    )
    expected = np.sum((n_relevant / n_candidates) * (1.0 + relevant_above) / positions)
    return float(expected / min(n_relevant, k))


def _direction_metrics(
    ranks: np.ndarray, average_precisions: np.ndarray, chance: ChanceLevels
) -> DirectionMetrics:
    recalls = [100.0 * float(np.mean(ranks <= k)) for k in RECALL_CUTOFFS]
    return DirectionMetrics(
        recall_at_1=recalls[0],
        recall_at_5=recalls[1],
        recall_at_10=recalls[2],
        map_at_10=100.0 * float(np.mean(average_precisions)),
        median_rank=float(np.median(ranks)),
        mean_rank=float(np.mean(ranks)),
        ranks=ranks,
        chance=chance,
    )


def _chance_levels(n_candidates: int, n_relevant_per_query: np.ndarray) -> ChanceLevels:
    """Chance levels averaged over queries with the given numbers of relevant candidates."""
    counts, query_counts = np.unique(n_relevant_per_query, return_counts=True)
    weights = query_counts / query_counts.sum()

    def averaged(chance_fn, k: int) -> float:
        values = [chance_fn(n_candidates, int(m), k) for m in counts]
        return 100.0 * float(np.dot(weights, values))

    recalls = [averaged(chance_recall_at_k, k) for k in RECALL_CUTOFFS]
    return ChanceLevels(
        recall_at_1=recalls[0],
        recall_at_5=recalls[1],
        recall_at_10=recalls[2],
        map_at_10=averaged(chance_average_precision_at_k, MAP_CUTOFF),
    )


def evaluate_retrieval(similarity: Any, caption_to_audio: Any) -> RetrievalResult:
    """Text -> audio and audio -> text retrieval metrics.

    Args:
        similarity: ``(n_captions, n_audio)`` finite scores, caption ``i`` vs clip ``j``
            (numpy array, torch tensor or nested lists).
        caption_to_audio: ``(n_captions,)`` integer clip index of each caption; every clip
            in ``range(n_audio)`` needs at least one caption.
    """
    scores = finite_float_matrix(similarity, "similarity")
    n_captions, n_audio = scores.shape
    clip_of_caption = index_vector(caption_to_audio, "caption_to_audio", n_captions, n_audio)
    captions_per_clip = np.bincount(clip_of_caption, minlength=n_audio)
    if (captions_per_clip == 0).any():
        missing = np.flatnonzero(captions_per_clip == 0)
        raise ValueError(
            f"caption_to_audio gives no caption to {missing.size} clip(s) of similarity's "
            f"{n_audio} columns, e.g. clips {missing[:5].tolist()}"
        )

    correct_scores = scores[np.arange(n_captions), clip_of_caption]
    text_to_audio_ranks = np.sum(scores >= correct_scores[:, None], axis=1).astype(np.int64)
    text_to_audio_ap = np.where(
        text_to_audio_ranks <= MAP_CUTOFF, 1.0 / text_to_audio_ranks, 0.0
    )

    audio_to_text_ranks = np.empty(n_audio, dtype=np.int64)
    audio_to_text_ap = np.empty(n_audio, dtype=np.float64)
    for clip in range(n_audio):
        is_relevant = clip_of_caption == clip
        column = scores[:, clip]
        ranks = conservative_ranks(column[is_relevant], column[~is_relevant])
        audio_to_text_ranks[clip] = ranks[0]
        audio_to_text_ap[clip] = average_precision_at_k(ranks, MAP_CUTOFF)

    return RetrievalResult(
        text_to_audio=_direction_metrics(
            text_to_audio_ranks,
            text_to_audio_ap,
            _chance_levels(n_audio, np.ones(n_captions, dtype=np.int64)),
        ),
        audio_to_text=_direction_metrics(
            audio_to_text_ranks,
            audio_to_text_ap,
            _chance_levels(n_captions, captions_per_clip),
        ),
        n_captions=n_captions,
        n_audio=n_audio,
    )
