"""Measure localisation (``SLAPInference.locate``) on clips composed from single-source clips.

    python -m espnet2_slap.bin.slap_locate_eval --model packed_model.zip \\
        --data_dir data/zeroshot_test --output_dir exp/locate

Each test clip joins ``--sources_per_clip`` single-source clips of ``--data_dir`` (its
``wav.scp`` and ``text``; with ``utt2label``, of distinct labels) at known offsets: their
silent edges trimmed, in random order, with 0.2-1.0 s of silence between them. Every source
of a clip is the described one in turn, its ``text`` the query. Per query:

* frame AUC: the query's curve separating the time steps of the described source (positives)
  from those of the other sources (negatives; silence is left out), averaged over queries;
* segment F1: the runs above the threshold (default: halfway between the curve's min and
  max, as ``slap locate``) against the described source's segment; a predicted segment is
  a hit when its onset and offset are both within ``--collar`` (0.5 s) of it, one-to-one.

Beside the model: ``uniform`` (the same score everywhere: AUC 0.5, the whole clip as one
segment) and ``energy`` (each step's level in dB: finds sound, not the described sound).
Writes ``results.json``, ``results.md`` and ``--num_plots`` example PNGs to --output_dir.
"""

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from espnet2_slap.inference.locate import SimilarityCurve, embed_steps, plot_curves
from espnet2_slap.metrics.report import write_json
from espnet2_slap.utils.atomic_files import atomic_write_text

Segment = Tuple[float, float]
GAP_S = (0.2, 1.0)
LEAD_S = (0.1, 0.5)


@dataclass
class Event:
    utt_id: str
    caption: str
    onset: float
    offset: float


def frame_auc(scores: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that a positive step outscores a negative one (ties count 1/2)."""
    pos, neg = scores[positive], scores[negative]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (pos.size * neg.size))


def segment_counts(
    predicted: Sequence[Segment], reference: Sequence[Segment], collar: float
) -> Tuple[int, int, int]:
    """(hits, false alarms, misses): a prediction hits a still unmatched reference when its
    onset and offset are both within ``collar`` seconds of the reference's."""
    unmatched = list(reference)
    hits = 0
    for start, end in predicted:
        for ref in unmatched:
            if abs(start - ref[0]) <= collar and abs(end - ref[1]) <= collar:
                unmatched.remove(ref)
                hits += 1
                break
    return hits, len(predicted) - hits, len(unmatched)


def active_span(wave: np.ndarray, rate: int, floor_db: float = -40.0) -> Tuple[int, int]:
    """Sample range between the first and last 10 ms frame within ``floor_db`` of the
    loudest frame (the clip's silent edges trimmed)."""
    hop = rate // 100
    frames = max(1, wave.size // hop)
    rms = np.sqrt(np.mean(wave[: frames * hop].reshape(frames, -1) ** 2, axis=1) + 1e-20)
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > floor_db)
    if loud.size == 0:
        return 0, wave.size
    return int(loud[0] * hop), int(min(wave.size, (loud[-1] + 1) * hop))


def compose_clips(
    sources: Dict[str, np.ndarray],
    captions: Dict[str, str],
    labels: Optional[Dict[str, str]],
    num_clips: int,
    per_clip: int,
    rate: int,
    seed: int,
    max_seconds: float = 30.0,
) -> List[Tuple[np.ndarray, List[Event]]]:
    """``num_clips`` clips of ``per_clip`` sources each (distinct labels, or distinct
    captions without labels), seeded by (seed, clip index)."""
    keys = sorted(sources)
    group_of = labels if labels is not None else captions
    groups: Dict[str, List[str]] = {}
    for key in keys:
        groups.setdefault(group_of[key], []).append(key)
    if len(groups) < per_clip:
        raise SystemExit(f"error: {len(groups)} distinct labels/captions, fewer than "
                         f"--sources_per_clip {per_clip}")
    names = sorted(groups)
    trimmed = {k: sources[k][slice(*active_span(sources[k], rate))] for k in keys}
    clips = []
    for index in range(num_clips):
        rng = np.random.default_rng([seed, index])
        chosen = [groups[g][rng.integers(len(groups[g]))]
                  for g in rng.choice(names, size=per_clip, replace=False)]
        parts, events = [np.zeros(int(rng.uniform(*LEAD_S) * rate), np.float32)], []
        at = parts[0].size
        for key in chosen:
            wave = trimmed[key]
            if events and (at + wave.size) / rate > max_seconds:
                break
            events.append(Event(key, captions[key], at / rate, (at + wave.size) / rate))
            gap = np.zeros(int(rng.uniform(*GAP_S) * rate), np.float32)
            parts += [wave, gap]
            at += wave.size + gap.size
        clips.append((np.concatenate(parts).astype(np.float32), events))
    return clips


def step_levels(wave: np.ndarray, times: np.ndarray, step: float, rate: int) -> np.ndarray:
    """Level in dB of the samples of each step (the energy baseline)."""
    levels = []
    for start in times:
        part = wave[int(start * rate) : int((start + step) * rate)]
        levels.append(10 * np.log10(np.mean(part**2) + 1e-10) if part.size else -100.0)
    return np.asarray(levels)


def evaluate(slap, clips, threshold: Optional[float], collar: float, context_steps: int,
             plot_dir: Optional[Path] = None, num_plots: int = 0) -> Dict[str, Dict[str, float]]:
    """Mean frame AUC and segment F1 of the model and the baselines over every query."""
    per_method = {m: {"auc": [], "hits": 0, "false_alarms": 0, "misses": 0}
                  for m in ("model", "uniform", "energy")}
    for number, (wave, events) in enumerate(clips):
        steps = embed_steps(slap, slap.load(wave, slap.sample_rate), context_steps)
        text = slap.embed_text([e.caption for e in events])
        level = step_levels(wave, steps.times, steps.step_seconds, slap.sample_rate)
        baselines = {
            "uniform": SimilarityCurve(steps.times, np.zeros(len(steps.times)),
                                       steps.step_seconds, steps.duration),
            "energy": SimilarityCurve(steps.times, level, steps.step_seconds, steps.duration),
        }
        curves = {}
        for target, event in enumerate(events):
            curve = steps.curve(text[target])
            curves[event.caption] = curve
            centers = curve.centers
            positive = (centers >= event.onset) & (centers < event.offset)
            negative = np.zeros_like(positive)
            for other in events[:target] + events[target + 1 :]:
                negative |= (centers >= other.onset) & (centers < other.offset)
            reference = [(event.onset, event.offset)]
            for method, scored in (("model", curve), *baselines.items()):
                cut = threshold if method == "model" else None
                stats = per_method[method]
                stats["auc"].append(frame_auc(scored.scores, positive, negative))
                hits, false_alarms, misses = segment_counts(scored.segments(cut), reference, collar)
                stats["hits"] += hits
                stats["false_alarms"] += false_alarms
                stats["misses"] += misses
        if plot_dir is not None and number < num_plots:
            plot_dir.mkdir(parents=True, exist_ok=True)
            feats = slap._features(slap.load(wave, slap.sample_rate)).float().cpu().numpy()
            spans = ", ".join(f"{e.onset:.1f}-{e.offset:.1f} s" for e in events)
            plot_curves(plot_dir / f"composed_{number:03d}.png", feats, steps.duration, curves,
                        threshold, title=f"composed clip {number}: sources at {spans}")
    return {method: _summary(stats) for method, stats in per_method.items()}


def _summary(stats) -> Dict[str, float]:
    hits, false_alarms, misses = stats["hits"], stats["false_alarms"], stats["misses"]
    precision = hits / max(1, hits + false_alarms)
    recall = hits / max(1, hits + misses)
    f1 = 2 * precision * recall / max(1e-12, precision + recall)
    aucs = np.asarray(stats["auc"])
    return {"frame_auc": float(np.nanmean(aucs)), "segment_f1": f1, "precision": precision,
            "recall": recall, "queries": int(aucs.size)}


def results_markdown(results, args, num_clips: int) -> str:
    rows = [
        f"Localisation on {num_clips} clips composed of {args.sources_per_clip} sources of "
        f"`{args.data_dir}` (seed {args.seed}); frame AUC of the described source against the "
        f"others, segment F1 with onset and offset within {args.collar} s.",
        "",
        "| scores | frame AUC | segment F1 | precision | recall | queries |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for method, r in results.items():
        rows.append(f"| {method} | {r['frame_auc']:.3f} | {100 * r['segment_f1']:.1f} | "
                    f"{100 * r['precision']:.1f} | {100 * r['recall']:.1f} | {r['queries']} |")
    return "\n".join(rows) + "\n"


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="packed .zip, experiment dir or tag")
    parser.add_argument("--data_dir", required=True,
                        help="single-source clips: wav.scp and text (utt2label optional)")
    parser.add_argument("--output_dir", required=True, help="results.json, results.md, PNGs")
    parser.add_argument("--num_clips", type=int, default=100, help="composed clips")
    parser.add_argument("--sources_per_clip", type=int, default=3, help="sources per clip")
    parser.add_argument("--seed", type=int, default=0, help="composition seed")
    parser.add_argument("--collar", type=float, default=0.5, help="onset/offset tolerance (s)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="cosine threshold of the model's segments (default: halfway "
                        "between each curve's min and max)")
    parser.add_argument("--context_steps", type=int, default=0,
                        help="time steps pooled on each side of a step")
    parser.add_argument("--num_plots", type=int, default=3, help="example PNGs written")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    return parser


def read_data_dir(data_dir: Path, rate: int, load) -> Tuple[dict, dict, Optional[dict]]:
    """(waves, captions, labels or None) of a Kaldi-style data dir."""
    from espnet2.fileio.read_text import read_2columns_text
    from espnet2.fileio.sound_scp import SoundScpReader

    for name in ("wav.scp", "text"):
        if not (data_dir / name).is_file():
            raise SystemExit(f"error: {data_dir / name}: no such file")
    reader = SoundScpReader(str(data_dir / "wav.scp"), always_2d=False, dtype="float32")
    captions = read_2columns_text(data_dir / "text")
    waves = {}
    for key in reader.keys():
        if key in captions:
            file_rate, wave = reader[key]
            waves[key] = load(wave, file_rate).numpy()
    labels = None
    if (data_dir / "utt2label").is_file():
        labels = read_2columns_text(data_dir / "utt2label")
    return waves, captions, labels


def main(cmd: Optional[List[str]] = None) -> Dict[str, Dict[str, float]]:
    from espnet2_slap.inference.slap_inference import SLAPInference

    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s: %(message)s")
    slap = SLAPInference.from_pretrained(args.model, device=args.device)
    waves, captions, labels = read_data_dir(Path(args.data_dir), slap.sample_rate, slap.load)
    clips = compose_clips(waves, captions, labels, args.num_clips, args.sources_per_clip,
                          slap.sample_rate, args.seed)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        results = evaluate(slap, clips, args.threshold, args.collar, args.context_steps,
                           out, args.num_plots)
    markdown = results_markdown(results, args, len(clips))
    write_json(out / "results.json", {"args": vars(args), "results": results})
    atomic_write_text(out / "results.md", markdown)
    print(markdown)
    return results


if __name__ == "__main__":
    main()
