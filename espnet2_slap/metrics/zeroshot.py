"""Zero-shot classification metrics from clip-vs-class-prompt scores.

Ties are counted against the model: the true class's rank is the number of classes scoring
at least as high as it (itself included), so a clip is a top-k hit only when fewer than k
classes score ``>=`` the true class. A tie with the true class for the best score is a miss,
and the reported prediction is then the lowest-index tied class that is NOT the true class,
so ``predictions == labels`` exactly on top-1 hits. Accuracies are in percent.
"""

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

import numpy as np

from espnet2_slap.metrics.array_checks import finite_float_matrix, index_vector

TOP_K = 5


@dataclass(frozen=True)
class ClassAccuracy:
    """Top-1 accuracy on the clips of one class; ``accuracy`` is None when ``support == 0``."""

    class_name: str
    support: int
    correct: int
    accuracy: Optional[float]


@dataclass(frozen=True, eq=False)
class ZeroShotResult:
    """Zero-shot classification metrics.

    Attributes:
        top1_accuracy: percent of clips whose true class is the unique best.
        top5_accuracy: percent of clips with fewer than 5 classes scoring >= the true class;
            None when there are fewer than 5 classes.
        mean_per_class_accuracy: mean of the per-class top-1 accuracies over classes with
            support (balanced accuracy), in percent.
        chance_top1, chance_top5: ``100 / n_classes`` and ``500 / n_classes`` (None as above).
        per_class: one entry per class, in class-index order.
        predictions: ``(n_clips,)`` int64 predicted class index (tie rule in module doc).
    """

    top1_accuracy: float
    top5_accuracy: Optional[float]
    mean_per_class_accuracy: float
    chance_top1: float
    chance_top5: Optional[float]
    per_class: List[ClassAccuracy]
    predictions: np.ndarray
    n_clips: int
    n_classes: int


def true_class_ranks(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Conservative 1-based rank of each clip's true class.

    Args:
        scores: ``(n_clips, n_classes)``.
        labels: ``(n_clips,)`` true class indices.

    Returns:
        ``(n_clips,)`` number of classes scoring ``>=`` the true class (itself included).
    """
    true_scores = scores[np.arange(scores.shape[0]), labels]
    return np.sum(scores >= true_scores[:, None], axis=1)


def conservative_predictions(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Best-scoring class of each clip, ties resolved against the true class.

    Args:
        scores: ``(n_clips, n_classes)``.
        labels: ``(n_clips,)`` true class indices.

    Returns:
        ``(n_clips,)`` the lowest-index best-scoring class that is not the true class, or the
        true class when it alone scores best.
    """
    is_best = scores == scores.max(axis=1, keepdims=True)
    is_wrong_best = is_best.copy()
    is_wrong_best[np.arange(scores.shape[0]), labels] = False
    return np.where(is_wrong_best.any(axis=1), is_wrong_best.argmax(axis=1), labels)


def evaluate_zero_shot(scores: Any, labels: Any, class_names: Sequence[str]) -> ZeroShotResult:
    """Top-1/top-5 accuracy, per-class accuracy and predictions.

    Args:
        scores: ``(n_clips, n_classes)`` finite scores (higher = more likely), numpy array,
            torch tensor or nested lists.
        labels: ``(n_clips,)`` integer true class index of each clip.
        class_names: ``n_classes`` names, in class-index order.

    Raises:
        ValueError: on a wrong shape or dtype, NaN/inf scores, out-of-range labels, or a
            ``class_names`` length that does not match ``scores``.
    """
    score_matrix = finite_float_matrix(scores, "scores")
    n_clips, n_classes = score_matrix.shape
    names = list(class_names)
    if len(names) != n_classes:
        raise ValueError(
            f"class_names has {len(names)} entries but scores has {n_classes} columns"
        )
    if not all(isinstance(name, str) for name in names):
        raise ValueError("class_names must all be strings")
    true_classes = index_vector(labels, "labels", n_clips, n_classes)

    ranks = true_class_ranks(score_matrix, true_classes)
    is_hit = ranks == 1
    support = np.bincount(true_classes, minlength=n_classes)
    correct = np.bincount(true_classes[is_hit], minlength=n_classes)
    per_class = [
        ClassAccuracy(
            class_name=names[index],
            support=int(support[index]),
            correct=int(correct[index]),
            accuracy=(
                100.0 * float(correct[index]) / float(support[index]) if support[index] else None
            ),
        )
        for index in range(n_classes)
    ]
    has_top5 = n_classes >= TOP_K
    return ZeroShotResult(
        top1_accuracy=100.0 * float(np.mean(is_hit)),
        top5_accuracy=100.0 * float(np.mean(ranks <= TOP_K)) if has_top5 else None,
        mean_per_class_accuracy=float(
            np.mean([entry.accuracy for entry in per_class if entry.accuracy is not None])
        ),
        chance_top1=100.0 / n_classes,
        chance_top5=100.0 * TOP_K / n_classes if has_top5 else None,
        per_class=per_class,
        predictions=conservative_predictions(score_matrix, true_classes),
        n_clips=n_clips,
        n_classes=n_classes,
    )
