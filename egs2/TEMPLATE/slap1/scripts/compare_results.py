#!/usr/bin/env python3
"""Compare the scores of several experiments side by side, with a sample of captions.

    python scripts/compare_results.py \\
        --exp_dirs exp/slap_train_slap_tiny exp/slap_train_slap_tiny_clap_only \\
        --names "SLAP" "CLAP only" --data_root dump/raw --output exp/RESULTS.md

Reads ``<exp_dir>/inference_*/<set>/score/results.json`` (the newest one when a set was
scored several times). Every number in a results file becomes a table row named by its
path, e.g. ``text_to_audio / R@1`` in the ``retrieval`` table, so the reader follows the
scorer's schema without knowing it: sections (``retrieval`` first, then the others in file
order) become tables, nested dicts become row names, and non-numeric entries are left out.
With two experiments a last column gives the difference (second - first). Sets whose
results have a ``captioning`` section also get a sample of generated captions.
"""

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

Metrics = List[Tuple[str, Optional[float]]]
FIRST_SECTIONS = ("retrieval",)


def find_results(exp_dir: Path) -> Dict[str, Path]:
    """{set name: results.json} of one experiment; the newest file when a set has several."""
    found: Dict[str, Path] = {}
    for path in exp_dir.glob("inference_*/*/score/results.json"):
        dset = path.parent.parent.name
        if dset not in found or path.stat().st_mtime > found[dset].stat().st_mtime:
            found[dset] = path
    return found


def flatten_metrics(node: Any, prefix: str = "") -> Metrics:
    """``(row name, value)`` for every number (or null) under ``node``, in file order."""
    if isinstance(node, dict):
        rows: Metrics = []
        for key, value in node.items():
            rows += flatten_metrics(value, f"{prefix} / {key}" if prefix else str(key))
        return rows
    is_number = isinstance(node, (int, float)) and not isinstance(node, bool)
    if prefix and (node is None or is_number):
        return [(prefix, None if node is None else float(node))]
    return []


def sections_of(results: Dict[str, Any]) -> Dict[str, Metrics]:
    """{section: rows}; numbers at the top level form a "summary" section."""
    sections: Dict[str, Metrics] = {}
    top_level: Metrics = []
    for key, value in results.items():
        if isinstance(value, dict):
            rows = flatten_metrics(value)
            if rows:
                sections[key] = rows
        else:
            top_level += flatten_metrics(value, key)
    if top_level:
        sections["summary"] = top_level
    ordered = {name: sections[name] for name in FIRST_SECTIONS if name in sections}
    ordered.update((name, rows) for name, rows in sections.items() if name not in ordered)
    return ordered


def row_decimals(values: Sequence[Optional[float]]) -> int:
    """4 decimals for rows of scores below 1 (BLEU, CIDEr, ...), 2 for percentages and ranks."""
    return 4 if all(abs(v) < 1 for v in values if v is not None) else 2


def format_value(value: Optional[float], decimals: int, sign: bool = False) -> str:
    """A table cell: integers as integers (unless signed), None as "n/a"."""
    if value is None:
        return "n/a"
    if value.is_integer() and not sign:
        return str(int(value))
    return f"{value:{'+' if sign else ''}.{decimals}f}"


def cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def comparison_table(names: Sequence[str], per_exp: Sequence[Metrics]) -> List[str]:
    """Markdown table: one row per metric, one column per experiment (+ difference for two)."""
    row_names: List[str] = []
    for rows in per_exp:
        row_names += [name for name, _ in rows if name not in row_names]
    values = [dict(rows) for rows in per_exp]
    with_difference = len(names) == 2
    columns = ["metric", *names] + ([f"{names[1]} - {names[0]}"] if with_difference else [])
    lines = ["| " + " | ".join(cell(c) for c in columns) + " |",
             "|" + "---|" * len(columns)]
    for row in row_names:
        row_values = [table.get(row) for table in values]
        decimals = row_decimals(row_values)
        cells = [cell(row)] + [format_value(v, decimals) for v in row_values]
        if with_difference:
            first, second = row_values
            both = first is not None and second is not None
            cells.append(format_value(second - first, decimals, sign=True) if both else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


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
    lines = ["| utterance | generated caption | reference caption |", "|---|---|---|"]
    for line in captions.read_text(encoding="utf-8").splitlines()[:n_captions]:
        utt_id, _, caption = line.partition(" ")
        lines.append(f"| {cell(utt_id)} | {cell(caption.strip())} | "
                     f"{cell(refs.get(utt_id, 'n/a'))} |")
    return lines


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


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exp_dirs", type=Path, nargs="+", required=True)
    parser.add_argument("--names", nargs="+", help="column names (default: directory names)")
    parser.add_argument("--data_root", type=Path, default=Path("dump/raw"),
                        help="where <set>/text_refs are, for the caption sample")
    parser.add_argument("--title", default="Comparison of experiments")
    parser.add_argument("--n_captions", type=int, default=5)
    parser.add_argument("--output", type=Path, required=True)
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
    lines += ["| experiment | directory |", "|---|---|"]
    lines += [f"| {cell(name)} | `{exp_dir}` |" for name, exp_dir in zip(names, args.exp_dirs)]
    for exp_dir, exp in zip(args.exp_dirs, found):
        if not exp:
            lines += ["", f"No scores were found in `{exp_dir}`."]
    for dset in dsets:
        per_exp = [sections_of(exp.get(dset) or {}) for exp in loaded]
        section_names: List[str] = []
        for sections in per_exp:
            section_names += [name for name in sections if name not in section_names]
        for section in section_names:
            lines += ["", f"## {dset}: {section}", ""]
            lines += comparison_table(names, [sections.get(section, []) for sections in per_exp])

    for name, exp, exp_results in zip(names, found, loaded):
        for dset in dsets:
            if "captioning" not in (exp_results.get(dset) or {}):
                continue
            captions = exp[dset].parent.parent / "captions"
            if captions.exists():
                lines += ["", f"## Caption sample: {name}, {dset}", ""]
                lines += caption_sample(captions, args.data_root / dset, args.n_captions)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"compare_results.py: {len(dsets)} sets of {len(names)} experiments -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
