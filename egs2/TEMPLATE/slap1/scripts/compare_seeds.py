#!/usr/bin/env python3
"""Compare configurations trained with several seeds: mean and spread, curves, verdicts.

    python scripts/compare_seeds.py --output exp/COMPARE.md \\
        --group "full" exp/slap_full_seed1 exp/slap_full_seed2 exp/slap_full_seed3 \\
        --group "no SSL" exp/slap_no_ssl_seed1 exp/slap_no_ssl_seed2 exp/slap_no_ssl_seed3 \\
        --test_set test --zeroshot_set zeroshot_test

For each group (one configuration, one experiment per seed) it reads every seed's scores
(``inference_*/<set>/score/results.json``) and validation curve (``train.log``), and writes a
table of each metric's mean and sample standard deviation over the seeds, a PNG of the
per-epoch validation retrieval accuracy (mean and range over seeds), and one sentence per
comparison of the first group with each other one: the difference of the means is said to
exceed the seeds' spread when it is larger than the sum of the two standard deviations.
"""

import argparse
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from compare_results import find_results, load_results, table

from espnet2_slap.utils.atomic_files import atomic_open, atomic_write_text

# (label, path in results.json, set kind)
METRICS = [
    ("T→A R@1", ("retrieval", "text_to_audio", "recall_at_1"), "test"),
    ("T→A R@5", ("retrieval", "text_to_audio", "recall_at_5"), "test"),
    ("T→A R@10", ("retrieval", "text_to_audio", "recall_at_10"), "test"),
    ("A→T R@10", ("retrieval", "audio_to_text", "recall_at_10"), "test"),
    ("zero-shot top-1", ("zeroshot", "top1_accuracy"), "zeroshot"),
    ("zero-shot top-5", ("zeroshot", "top5_accuracy"), "zeroshot"),
    ("CIDEr-D", ("captioning", "scores", "CIDEr-D"), "test"),
]
VALID_CURVE_STAT = "acc_t2a"
EPOCH_LINE = re.compile(r"(\d+)epoch results: .*?\[valid\]([^\[]*)")


def lookup(results: Optional[dict], path: Sequence[str]) -> Optional[float]:
    value = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, (int, float)) else None


def seed_scores(exp_dir: Path, sets: Dict[str, str]) -> Dict[str, Optional[float]]:
    """{metric label: value} of one experiment (None where the set or metric is missing)."""
    found = find_results(exp_dir)
    loaded = {kind: load_results(found[name]) if name in found else None
              for kind, name in sets.items()}
    return {label: lookup(loaded[kind], path) for label, path, kind in METRICS}


def valid_curve(exp_dir: Path, stat: str = VALID_CURVE_STAT) -> List[float]:
    """The validation ``stat`` of each epoch, from ESPnet's ``train.log`` (epoch order)."""
    log = exp_dir / "train.log"
    if not log.exists():
        return []
    per_epoch: Dict[int, float] = {}
    pattern = re.compile(rf"\b{re.escape(stat)}=([-+0-9.eE]+)")
    for match in EPOCH_LINE.finditer(log.read_text(encoding="utf-8", errors="replace")):
        value = pattern.search(match.group(2))
        if value:
            per_epoch[int(match.group(1))] = float(value.group(1))
    return [per_epoch[epoch] for epoch in sorted(per_epoch)]


def mean_std(values: Sequence[Optional[float]]) -> Tuple[Optional[float], Optional[float], int]:
    """Mean, sample standard deviation (0 for one seed) and count of the known values."""
    known = np.array([v for v in values if v is not None], dtype=float)
    if known.size == 0:
        return None, None, 0
    std = float(known.std(ddof=1)) if known.size > 1 else 0.0
    return float(known.mean()), std, int(known.size)


def verdict(label: str, first: str, other: str, a: Tuple, b: Tuple) -> Optional[str]:
    (mean_a, std_a, n_a), (mean_b, std_b, n_b) = a, b
    if mean_a is None or mean_b is None:
        return None
    diff = mean_a - mean_b
    spread = std_a + std_b
    exceeds = abs(diff) > spread
    side = "above" if diff > 0 else "below"
    return (f"{label}: {first} is {abs(diff):.2f} {side} {other} ({mean_a:.2f} vs {mean_b:.2f}, "
            f"{n_a} and {n_b} seeds); this {'exceeds' if exceeds else 'does not exceed'} "
            f"the seeds' spread ({std_a:.2f} + {std_b:.2f} = {spread:.2f}).")


def plot_curves(groups: Dict[str, List[List[float]]], path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = False
    for name, curves in groups.items():
        curves = [c for c in curves if c]
        if not curves:
            continue
        epochs = min(len(c) for c in curves)
        values = np.array([c[:epochs] for c in curves]) * 100
        x = np.arange(1, epochs + 1)
        ax.plot(x, values.mean(0), marker="o", label=f"{name} ({len(curves)} seeds)")
        ax.fill_between(x, values.min(0), values.max(0), alpha=0.2)
        drawn = True
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation in-batch T→A top-1 (%)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=100)
    plt.close(fig)
    return True


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--group", nargs="+", action="append", required=True,
                        metavar=("NAME", "EXP_DIR"),
                        help="a configuration's name and its experiments, one per seed")
    parser.add_argument("--test_set", default="test", help="the retrieval/captioning set")
    parser.add_argument("--zeroshot_set", default="zeroshot_test", help="the zero-shot set")
    parser.add_argument("--title", default="Objectives compared over seeds")
    parser.add_argument("--output", type=Path, required=True, help="the Markdown file to write")
    args = parser.parse_args(argv)
    if any(len(group) < 2 for group in args.group):
        parser.error("each --group takes a name and at least one experiment directory")
    sets = {"test": args.test_set, "zeroshot": args.zeroshot_set}

    names = [group[0] for group in args.group]
    scores = {group[0]: [seed_scores(Path(d), sets) for d in group[1:]] for group in args.group}
    curves = {group[0]: [valid_curve(Path(d)) for d in group[1:]] for group in args.group}
    summary = {name: {label: mean_std([s[label] for s in scores[name]]) for label, _, _ in METRICS}
               for name in names}
    labels = [label for label, _, _ in METRICS
              if any(summary[name][label][0] is not None for name in names)]
    if not labels:
        print("compare_seeds.py: error: no scores found under the --group directories",
              file=sys.stderr)
        return 1

    def fmt(stat):
        mean, std, n = stat
        return "n/a" if mean is None else f"{mean:.2f} ± {std:.2f}"

    rows = [[name, str(len(scores[name]))] + [fmt(summary[name][label]) for label in labels]
            for name in names]
    lines = [f"# {args.title}", "",
             f"Mean ± sample standard deviation over seeds; test set `{args.test_set}`, "
             f"zero-shot set `{args.zeroshot_set}`; scores in % (CIDEr-D as a fraction).", ""]
    lines += table(["config", "seeds"] + labels, rows)
    lines += ["", "## Differences against the seeds' spread", ""]
    for other in names[1:]:
        for label in labels:
            sentence = verdict(label, names[0], other, summary[names[0]][label],
                               summary[other][label])
            if sentence:
                lines.append(f"- {sentence}")
    png = args.output.with_name(args.output.stem + "_valid_curves.png")
    lines += ["", "## Validation curves", ""]
    if plot_curves(curves, png):
        lines.append(f"![per-epoch validation retrieval]({png.name})")
    else:
        lines.append("No per-epoch validation statistics were found in the train.log files.")
    atomic_write_text(args.output, "\n".join(lines) + "\n")
    print(f"compare_seeds.py: wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
