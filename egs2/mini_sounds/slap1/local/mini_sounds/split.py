"""Train / valid / test assignment by source recording, and the zero-shot label set.

Within each class label the recordings are shuffled and dealt out so that valid and test
receive about VALID_FRACTION and TEST_FRACTION of them (stochastic rounding). A label with
two or more recordings keeps at least one in train, and one with three or more also gets at
least one in test, so it can serve zero-shot evaluation. A label with a single recording
lands in one split at random, so test also holds some classes never trained on.
"""

import zlib
from collections import defaultdict
from typing import Dict, List, Sequence

import numpy as np

from mini_sounds.sources import Recording

SPLITS = ("train", "valid", "test")
VALID_FRACTION = 0.10
TEST_FRACTION = 0.15
MIN_ZERO_SHOT_LABELS = 10
# labels too vague for a "the sound of {label}" prompt, or naming no single class
VAGUE_LABELS = frozenset({"electronic beep", "glitch", "robot sound", "whoosh", "boom", "drone",
                          "buzz", "thud", "drum loop", "two instruments"})


def _label_rng(seed: int, label: str) -> np.random.Generator:
    """Independent stream per label, so adding one class does not reshuffle the others."""
    return np.random.default_rng([seed, zlib.crc32(label.encode("utf-8"))])


def _stochastic_round(value: float, rng: np.random.Generator) -> int:
    return int(np.floor(value) + (rng.random() < value - np.floor(value)))


def assign_splits(recordings: Sequence[Recording], seed: int) -> Dict[str, str]:
    """source_id -> "train" | "valid" | "test"; deterministic given ``seed``."""
    by_label: Dict[str, List[str]] = defaultdict(list)
    for recording in recordings:
        by_label[recording.label].append(recording.source_id)
    split_of = {}
    for label in sorted(by_label):
        rng = _label_rng(seed, label)
        ids = sorted(by_label[label])
        rng.shuffle(ids)
        n = len(ids)
        n_test = _stochastic_round(TEST_FRACTION * n, rng)
        n_valid = _stochastic_round(VALID_FRACTION * n, rng)
        if n >= 3:
            n_test = max(n_test, 1)
        if n >= 2:
            n_test = min(n_test, n - 1)
            n_valid = min(n_valid, n - 1 - n_test)
        else:
            n_valid = min(n_valid, 1 - n_test)
        for position, sid in enumerate(ids):
            split_of[sid] = ("test" if position < n_test
                             else "valid" if position < n_test + n_valid else "train")
    return split_of


def zero_shot_labels(recordings: Sequence[Recording], split_of: Dict[str, str]) -> List[str]:
    """Sound-event labels that have test recordings and other recordings in train.

    Speech labels and VAGUE_LABELS are excluded. Raises ValueError if fewer than
    MIN_ZERO_SHOT_LABELS remain.
    """
    splits_of_label: Dict[str, set] = defaultdict(set)
    for recording in recordings:
        if not recording.is_speech:
            splits_of_label[recording.label].add(split_of[recording.source_id])
    labels = sorted(label for label, splits in splits_of_label.items()
                    if {"train", "test"} <= splits and label not in VAGUE_LABELS)
    if len(labels) < MIN_ZERO_SHOT_LABELS:
        raise ValueError(f"only {len(labels)} zero-shot labels ({labels}); "
                         f"need at least {MIN_ZERO_SHOT_LABELS}: add sources")
    return labels
