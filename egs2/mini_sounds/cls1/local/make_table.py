#!/usr/bin/env python3
"""The tagging demo's table: test accuracy and mAP of each run, mean ± std over the seeds.

    python local/make_table.py --exp_dir exp --seeds 1 2 3 --output exp/RESULTS.md

Reads ``<exp_dir>/cls_<mode>_<init>_seed<seed>/cls_test/scoring/metrics.json`` (slapcls.sh
stage 6) and writes a Markdown table, each run's per-seed accuracies, and for each mode one
sentence per metric saying whether the pretrained encoder's gain over random initialisation
exceeds the seeds' spread (the rule of ``scripts/compare_seeds.py``).
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from compare_results import table  # noqa: E402
from compare_seeds import mean_std, verdict  # noqa: E402

from espnet2_slap.utils.atomic_files import atomic_write_text  # noqa: E402

MODES = [("linear probe", "linear_probe"), ("fine-tuning", "finetune")]
INITS = [("pretrained SLAP", "pretrained"), ("random init", "random")]
METRICS = [("accuracy", "accuracy"), ("mAP", "mAP")]


def seed_metrics(exp_dir: Path, tag: str, seeds: Sequence[int]) -> List[Optional[Dict[str, float]]]:
    """The test metrics (in %) of ``cls_<tag>_seed<s>`` for each seed; None where not scored."""
    found = []
    for seed in seeds:
        path = exp_dir / f"cls_{tag}_seed{seed}" / "cls_test" / "scoring" / "metrics.json"
        if not path.is_file():
            found.append(None)
            continue
        metrics = json.loads(path.read_text())
        found.append({label: 100 * float(metrics[key]) for label, key in METRICS if key in metrics})
    return found


def render(exp_dir: Path, seeds: Sequence[int], note: str = "") -> str:
    def fmt(stat):
        mean, std, n = stat
        return "(not run)" if mean is None else f"{mean:.1f} ± {std:.1f}"

    rows, sentences = [], []
    for mode, mode_tag in MODES:
        summary = {}
        for init, init_tag in INITS:
            runs = seed_metrics(exp_dir, f"{mode_tag}_{init_tag}", seeds)
            summary[init] = {label: mean_std([r.get(label) if r else None for r in runs])
                             for label, _ in METRICS}
            per_seed = ", ".join("–" if r is None or "accuracy" not in r else f"{r['accuracy']:.1f}"
                                 for r in runs)
            rows.append([mode, init, str(sum(r is not None for r in runs))]
                        + [fmt(summary[init][label]) for label, _ in METRICS] + [per_seed])
        for label, _ in METRICS:
            sentence = verdict(f"{mode}, test {label}", INITS[0][0], INITS[1][0],
                               summary[INITS[0][0]][label], summary[INITS[1][0]][label])
            if sentence:
                sentences.append(f"- {sentence}")
    header = ["mode", "encoder init", "seeds", "test accuracy (%)", "test mAP (%)",
              f"accuracy per seed ({', '.join(map(str, seeds))})"]
    lines = ["# mini_sounds tagging demo (test set)", "",
             "Mean ± sample standard deviation over the seeds.", ""]
    lines += table(header, rows)
    lines += ["", "## Pretrained against random initialisation", ""]
    lines += sentences or ["No run has been scored yet."]
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exp_dir", type=Path, default=Path("exp"), help="experiments of run.sh")
    parser.add_argument("--seeds", type=int, nargs="+", required=True, help="the runs' seeds")
    parser.add_argument("--output", type=Path, required=True, help="markdown file to write")
    parser.add_argument("--note", default="", help="text under the table")
    args = parser.parse_args(argv)
    text = render(args.exp_dir, args.seeds, args.note)
    atomic_write_text(args.output, text)
    print(text)


if __name__ == "__main__":
    main()
