#!/usr/bin/env python3
"""Compare the scores of several experiments side by side, with a sample of captions.

    python scripts/compare_results.py \\
        --exp_dirs exp/slap_train_slap_tiny exp/slap_train_slap_tiny_clap_only \\
        --names "SLAP" "CLAP only" --data_root dump/raw --output exp/RESULTS.md

Reads ``<exp_dir>/inference_*/<set>/score/results.json`` as written by
``espnet2_slap.bin.slap_score`` (the newest one when a set was scored several times) and the
training log of each experiment, and writes one compact table per set and task: one row per
experiment, a chance row, the paper's metrics as columns.
"""

import argparse
import json
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from make_results_md import portable_text

from espnet2_slap.utils.atomic_files import atomic_write_text

RETRIEVAL_COLUMNS = [("recall_at_1", "R@1"), ("recall_at_5", "R@5"), ("recall_at_10", "R@10"),
                     ("map_at_10", "mAP@10"), ("median_rank", "MedR")]
ZEROSHOT_COLUMNS = [("top1_accuracy", "chance_top1", "top-1 (%)"),
                    ("top5_accuracy", "chance_top5", "top-5 (%)"),
                    ("mean_per_class_accuracy", "chance_top1", "mean per-class (%)")]
CAPTIONING_COLUMNS = ["BLEU-4", "METEOR", "ROUGE-L", "CIDEr-D", "SPICE", "SPIDEr"]


def find_results(exp_dir: Path) -> Dict[str, Path]:
    """{set name: results.json} of one experiment; the newest file when a set has several."""
    found: Dict[str, Path] = {}
    for path in exp_dir.glob("inference_*/*/score/results.json"):
        dset = path.parent.parent.name
        if dset not in found or path.stat().st_mtime > found[dset].stat().st_mtime:
            found[dset] = path
    return found


def load_results(path: Path) -> Optional[Dict[str, Any]]:
    """The JSON object in ``path``, or None (with a warning) when it cannot be used."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        print(f"compare_results.py: warning: cannot read {path}: {err}", file=sys.stderr)
        return None
    if not isinstance(results, dict):
        print(f"compare_results.py: warning: {path} holds no JSON object", file=sys.stderr)
        return None
    return results


def training_summary(exp_dir: Path) -> str:
    """"E epochs, N steps, T min" from ESPnet's train.log (cumulative counts), or "n/a"."""
    log = exp_dir / "train.log"
    if not log.exists():
        return "n/a"
    epochs = steps = 0
    seconds = 0.0
    pattern = re.compile(r"(\d+)epoch results: \[train\].*?time=([^,]+), total_count=(\d+)")
    for match in pattern.finditer(log.read_text(encoding="utf-8", errors="replace")):
        epochs, steps = int(match.group(1)), int(match.group(3))
        seconds += parse_duration(match.group(2))
    return f"{epochs} epochs, {steps} steps, {seconds / 60:.1f} min" if epochs else "n/a"


def parse_duration(text: str) -> float:
    """ESPnet's humanfriendly durations ("2 minutes and 49.63 seconds") -> seconds."""
    units = {"hour": 3600.0, "minute": 60.0, "second": 1.0}
    return sum(float(value) * units[unit]
               for value, unit in re.findall(r"([\d.]+) (hour|minute|second)s?", text))


def cell(text: Any) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def number(value: Any, decimals: int = 2) -> str:
    """A score with fixed decimals, or "n/a" for a missing or unavailable one."""
    if value is None or (isinstance(value, dict) and "unavailable_reason" in value):
        return "n/a"
    return f"{float(value):.{decimals}f}"


def rank(value: Any) -> str:
    """A median rank: whole, or halfway between two ranks."""
    if value is None:
        return "n/a"
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "---|" + "---:|" * (len(header) - 1)]
    return lines + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]


def retrieval_table(names: Sequence[str], results: Sequence[Optional[dict]]) -> List[str]:
    directions = [("text_to_audio", "T→A"), ("audio_to_text", "A→T")]
    columns = [(d, key) for d, _ in directions for key, _ in RETRIEVAL_COLUMNS]
    header = ["model"] + [f"{short} {label}" for _, short in directions for _, label in RETRIEVAL_COLUMNS]
    scored = [(name, r["retrieval"]) for name, r in zip(names, results) if r and r.get("retrieval")]
    if not scored:
        return []
    rows = [[name] + [(rank if key == "median_rank" else number)(retrieval[d].get(key)) for d, key in columns]
            for name, retrieval in scored]
    first = scored[0][1]
    rows.append(["*chance*"] + ["–" if key == "median_rank" else number(first[d]["chance"].get(key))
                                for d, key in columns])
    sizes = f"{first.get('n_audio')} clips, {first.get('n_captions')} captions"
    return table(header, rows) + ["", f"{sizes}; R@k and mAP@10 in %, MedR = median rank."]


def zeroshot_table(names: Sequence[str], results: Sequence[Optional[dict]]) -> List[str]:
    rows, last = [], None
    for name, result in zip(names, results):
        zeroshot = (result or {}).get("zeroshot")
        if zeroshot:
            rows.append([name] + [number(zeroshot.get(key)) for key, _, _ in ZEROSHOT_COLUMNS])
            last = zeroshot
    if last is None:
        return []
    rows.append(["*chance*"] + [number(last.get(chance)) for _, chance, _ in ZEROSHOT_COLUMNS])
    header = ["model"] + [label for _, _, label in ZEROSHOT_COLUMNS]
    return table(header, rows) + ["", f"{last.get('n_clips')} clips, {last.get('n_classes')} classes."]


def captioning_table(names: Sequence[str], results: Sequence[Optional[dict]]) -> List[str]:
    rows, reasons = [], {}
    for name, result in zip(names, results):
        scores = ((result or {}).get("captioning") or {}).get("scores")
        if scores:
            rows.append([name] + [number(scores.get(m), 4) for m in CAPTIONING_COLUMNS])
            for metric in CAPTIONING_COLUMNS:
                if isinstance(scores.get(metric), dict):
                    reasons[metric] = scores[metric]["unavailable_reason"]
    if not rows:
        return []
    notes = [f"{metric} n/a: {reason}" for metric, reason in reasons.items()]
    return table(["model"] + CAPTIONING_COLUMNS, rows) + ([""] + notes if notes else [])


def read_first_refs(data_dir: Path) -> Dict[str, str]:
    """{utt id: first reference caption} from ``text_refs``, else ``text``."""
    for name in ("text_refs", "text"):
        path = data_dir / name
        if path.exists():
            refs: Dict[str, str] = {}
            for line in path.read_text(encoding="utf-8").splitlines():
                utt_id, _, caption = line.partition(" ")
                refs.setdefault(utt_id, caption.strip())
            return refs
    return {}


def caption_sample(captions: Path, data_dir: Path, n_captions: int) -> List[str]:
    """Markdown table of the first ``n_captions`` generated captions with a reference."""
    refs = read_first_refs(data_dir)
    lines = ["| clip | generated caption | reference caption |", "|---|---|---|"]
    for line in captions.read_text(encoding="utf-8").splitlines()[:n_captions]:
        utt_id, _, caption = line.partition(" ")
        lines.append(f"| {cell(utt_id)} | {cell(caption.strip())} | {cell(refs.get(utt_id, 'n/a'))} |")
    return lines


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exp_dirs", type=Path, nargs="+", required=True,
                        help="experiment directories to compare")
    parser.add_argument("--names", nargs="+", help="row names (default: directory names)")
    parser.add_argument("--data_root", type=Path, default=Path("dump/raw"),
                        help="where <set>/text_refs are, for the caption sample")
    parser.add_argument("--title", default="Comparison of experiments", help="heading of the file")
    parser.add_argument("--n_captions", type=int, default=5, help="generated captions shown per model")
    parser.add_argument("--output", type=Path, required=True, help="the Markdown file to write")
    args = parser.parse_args(argv)
    names = args.names or [exp_dir.name for exp_dir in args.exp_dirs]
    if len(names) != len(args.exp_dirs):
        parser.error(f"{len(names)} --names for {len(args.exp_dirs)} --exp_dirs")

    found = [find_results(exp_dir) for exp_dir in args.exp_dirs]
    loaded = [{dset: load_results(path) for dset, path in exp.items()} for exp in found]
    dsets = sorted({dset for exp in loaded for dset, res in exp.items() if res is not None})
    if not dsets:
        print("compare_results.py: error: no readable inference_*/*/score/results.json under "
              + ", ".join(str(d) for d in args.exp_dirs), file=sys.stderr)
        return 1

    lines = [f"# {args.title}", "",
             f"- date: `{datetime.now().astimezone().strftime('%Y-%m-%d %H:%M:%S %Z')}`", ""]
    lines += table(["model", "directory", "training"],
                   [[name, f"`{exp_dir}`", training_summary(exp_dir)]
                    for name, exp_dir in zip(names, args.exp_dirs)])
    for dset in dsets:
        per_exp = [exp.get(dset) for exp in loaded]
        for title, make in (("retrieval", retrieval_table), ("zero-shot classification", zeroshot_table),
                            ("captioning", captioning_table)):
            rows = make(names, per_exp)
            if rows:
                lines += ["", f"## {dset}: {title}", ""] + rows

    for name, exp, exp_results in zip(names, found, loaded):
        for dset in dsets:
            if "captioning" not in (exp_results.get(dset) or {}):
                continue
            captions = exp[dset].parent.parent / "captions"
            if captions.exists():
                lines += ["", f"## {dset}: generated captions ({name})", ""]
                lines += caption_sample(captions, args.data_root / dset, args.n_captions)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # Shared with the reports and the model card: no path of this machine (e.g. the venv in
    # an "n/a" reason) is written.
    atomic_write_text(args.output, portable_text("\n".join(lines) + "\n"))
    print(f"compare_results.py: {len(dsets)} sets of {len(names)} experiments -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
