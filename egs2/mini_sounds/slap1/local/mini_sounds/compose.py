"""Clip composition: 1-4 recordings of one split played one after another with short gaps.

A clip's target length is drawn from a log-normal distribution (median 6.5 s, clipped to
[1, 30] s); its number of events grows with the target, and events are drawn with weights
that prefer recordings near the per-event share of the target and balance the classes
(weight ~ 1 / sqrt(recordings of that label in the split)). Everything is drawn from a
generator seeded by (seed, split, clip index), so a plan is deterministic and independent of
``nj``.
"""

import multiprocessing
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import soundfile as sf

from mini_sounds import SAMPLE_RATE
from mini_sounds.audio import write_wav
from mini_sounds.captions import reference_captions
from mini_sounds.sources import Recording

MIN_CLIP_S, MAX_CLIP_S = 1.0, 30.0
MAX_ZERO_SHOT_S = 10.0
TARGET_MEDIAN_S, TARGET_SIGMA = 6.5, 0.8
MAX_EVENTS = 4
GAP_S = (0.2, 1.0)  # silence between events
EDGE_S = (0.05, 0.5)  # silence before the first and after the last event
GAIN_DB = (-6.0, 0.0)  # per-event level jitter, so level does not identify a source
DURATION_MATCH_SIGMA = 0.7  # width (in log-duration) of the preference for fitting events
SPLIT_INDEX = {"train": 0, "valid": 1, "test": 2, "zeroshot_test": 3}


@dataclass(frozen=True)
class ClipPlan:
    """Everything needed to render and describe one clip.

    Attributes:
        utt_id: utterance id.
        events: (source_id, onset_s, gain) per event, in time order.
        duration: clip length in seconds (a whole number of samples).
        captions: reference captions; ``captions[0]`` is the primary (training) caption.
        label: class label (zero-shot clips only, else "").
    """

    utt_id: str
    events: Tuple[Tuple[str, float, float], ...]
    duration: float
    captions: Tuple[str, ...]
    label: str = ""


def _clip_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLIT_INDEX[split], index])


def _number_of_events(target: float, rng: np.random.Generator) -> int:
    """About one event per 3 s of target, +-1 at random, within [1, MAX_EVENTS]."""
    return int(np.clip(round(target / 3.0) + rng.integers(-1, 2), 1, MAX_EVENTS))


def _pick_events(pool: Sequence[Recording], base_weight: np.ndarray, count: int,
                 event_target: float, rng: np.random.Generator) -> List[Recording]:
    """``count`` distinct recordings, preferring durations near ``event_target`` seconds."""
    durations = np.array([r.duration for r in pool])
    fit = np.exp(-np.log(durations / event_target) ** 2 / (2 * DURATION_MATCH_SIGMA ** 2))
    weights = base_weight * fit
    count = min(count, len(pool))
    chosen = rng.choice(len(pool), size=count, replace=False, p=weights / weights.sum())
    return [pool[i] for i in chosen]


def _layout(events: List[Recording], rng: np.random.Generator,
            max_s: float) -> Tuple[List[Recording], List[float], float]:
    """Onsets after random leading silence and gaps; drops trailing events beyond ``max_s``.

    A single event longer than ``max_s`` minus the edges gets shorter edges instead.
    Returns (events, onsets, duration) with the duration padded up to MIN_CLIP_S.
    """
    lead, tail = rng.uniform(*EDGE_S, size=2)
    gaps = rng.uniform(*GAP_S, size=len(events) - 1)

    def sounding(k: int) -> float:
        return sum(e.duration for e in events[:k]) + float(gaps[: k - 1].sum())

    count = len(events)
    while count > 1 and lead + sounding(count) + tail > max_s:
        count -= 1
    spare = max(0.0, max_s - sounding(count))
    lead = min(lead, spare / 2)
    tail = min(tail, spare - lead)
    onsets = lead + np.concatenate([[0.0], np.cumsum([e.duration for e in events[: count - 1]])
                                    + np.cumsum(gaps[: count - 1])])
    return events[:count], onsets.tolist(), max(MIN_CLIP_S, lead + sounding(count) + tail)


def _plan(utt_id: str, events: List[Recording], rng: np.random.Generator, max_s: float,
          label: str = "") -> ClipPlan:
    events, onsets, duration = _layout(events, rng, max_s)
    gains = 10 ** (rng.uniform(*GAIN_DB, size=len(events)) / 20)
    captions = reference_captions([(e.phrase, e.gerund) for e in events])
    order = rng.permutation(len(captions))  # the primary caption's wording varies per clip
    samples = int(np.ceil(duration * SAMPLE_RATE - 1e-6))
    return ClipPlan(
        utt_id=utt_id,
        events=tuple((e.source_id, round(o, 4), round(float(g), 4))
                     for e, o, g in zip(events, onsets, gains)),
        duration=samples / SAMPLE_RATE,
        captions=tuple(captions[i] for i in order),
        label=label,
    )


def plan_clips(pool: Sequence[Recording], split: str, count: int, seed: int) -> List[ClipPlan]:
    """``count`` composed clips drawn from the recordings of one split."""
    if not pool:
        raise ValueError(f"split {split!r} has no source recordings to compose clips from")
    pool = sorted(pool, key=lambda r: r.source_id)
    label_counts: Dict[str, int] = {}
    for recording in pool:
        label_counts[recording.label] = label_counts.get(recording.label, 0) + 1
    base_weight = np.array([1.0 / np.sqrt(label_counts[r.label]) for r in pool])
    plans = []
    for index in range(count):
        rng = _clip_rng(seed, split, index)
        target = float(np.clip(TARGET_MEDIAN_S * np.exp(TARGET_SIGMA * rng.standard_normal()),
                               MIN_CLIP_S, MAX_CLIP_S))
        n_events = _number_of_events(target, rng)
        event_target = max(0.3, (target - np.mean(GAP_S) * (n_events - 1)) / n_events)
        events = _pick_events(pool, base_weight, n_events, event_target, rng)
        plans.append(_plan(f"ms-{split}-{index:05d}", events, rng, MAX_CLIP_S))
    return plans


def plan_zero_shot(test_pool: Sequence[Recording], labels: Sequence[str],
                   seed: int) -> List[ClipPlan]:
    """One single-event clip (1-10 s) per test recording whose label is in ``labels``."""
    chosen = sorted((r for r in test_pool if r.label in set(labels)), key=lambda r: r.source_id)
    return [
        _plan(f"ms-zs-{index:05d}", [recording], _clip_rng(seed, "zeroshot_test", index),
              MAX_ZERO_SHOT_S, label=recording.label)
        for index, recording in enumerate(chosen)
    ]


def render_clip(plan: ClipPlan, wav_of: Dict[str, str], out_path: Path) -> None:
    """Mix the plan's events into a (duration * 16000,) wave and write it as PCM16."""
    clip = np.zeros(int(round(plan.duration * SAMPLE_RATE)), dtype=np.float32)
    for source_id, onset, gain in plan.events:
        wave, rate = sf.read(wav_of[source_id], dtype="float32")
        if rate != SAMPLE_RATE or wave.ndim != 1:
            raise ValueError(f"{wav_of[source_id]} is not 16 kHz mono")
        start = int(round(onset * SAMPLE_RATE))
        stop = min(clip.size, start + wave.size)
        clip[start:stop] += gain * wave[: stop - start]
    write_wav(out_path, clip)


def _render_star(args: Tuple[ClipPlan, Dict[str, str], Path]) -> None:
    render_clip(*args)


def render_clips(plans: Sequence[ClipPlan], wav_of: Dict[str, str], out_dir: Path,
                 nj: int) -> None:
    """Render every plan to ``out_dir/<utt_id>.wav`` over ``nj`` processes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = [(plan, {sid: wav_of[sid] for sid, _, _ in plan.events},
              out_dir / f"{plan.utt_id}.wav") for plan in plans]
    if nj <= 1:
        for task in tasks:
            _render_star(task)
        return
    with multiprocessing.get_context("spawn").Pool(nj) as pool:
        for _ in pool.imap_unordered(_render_star, tasks, chunksize=16):
            pass
