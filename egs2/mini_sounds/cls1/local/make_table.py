#!/usr/bin/env python3
"""The demo's results table: test accuracy (and mAP) of each run, as markdown.

    python local/make_table.py --exp_dir exp --output exp/RESULTS.md
"""

import argparse
import json
from pathlib import Path

RUNS = [
    ("linear probe", "pretrained SLAP", "linear_probe_pretrained"),
    ("linear probe", "random init", "linear_probe_random"),
    ("fine-tuning", "pretrained SLAP", "finetune_pretrained"),
    ("fine-tuning", "random init", "finetune_random"),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exp_dir", default="exp", help="experiments of run.sh")
    parser.add_argument("--output", required=True, help="markdown file to write")
    parser.add_argument("--note", default="", help="text under the table")
    args = parser.parse_args(argv)
    rows = ["| mode | encoder init | test accuracy (%) | test mAP (%) |", "|---|---|---:|---:|"]
    for mode, init, tag in RUNS:
        path = Path(args.exp_dir) / f"cls_{tag}" / "cls_test" / "scoring" / "metrics.json"
        if not path.is_file():
            rows.append(f"| {mode} | {init} | (not run) | |")
            continue
        m = json.loads(path.read_text())
        rows.append(f"| {mode} | {init} | {100 * m['accuracy']:.1f} | {100 * m.get('mAP', float('nan')):.1f} |")
    text = "# mini_sounds tagging demo (test set)\n\n" + "\n".join(rows) + "\n" + (f"\n{args.note}\n" if args.note else "")
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
