#!/usr/bin/env python3
"""Copy a data directory, keeping only utterances within a duration range.

    python scripts/filter_by_duration.py --fs 16000 --min_seconds 0.5 --max_seconds 30 \\
        dump/raw/org/train dump/raw/train

Durations come from ``utt2num_samples`` / ``fs``. Per-utterance files (``wav.scp``, ``text``,
``text_refs`` and every ``utt2*``) are filtered, ``spk2utt`` is rebuilt from the filtered
``utt2spk``, other files (``labels``, ...) are copied. The output directory is built next to
its final place and renamed into it, so it is complete or absent.
"""

import argparse
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Sequence, Set


def read_num_samples(path: Path) -> Dict[str, int]:
    """``utt2num_samples`` -> {utt id: samples}; raises ValueError naming a bad line."""
    counts: Dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if len(fields) != 2 or not fields[1].isdigit():
                raise ValueError(f"{path} line {number}: expected '<utt-id> <samples>'")
            counts[fields[0]] = int(fields[1])
    return counts


def is_per_utterance(name: str) -> bool:
    """Files with one or more ``<utt-id> ...`` lines per utterance."""
    return name in ("wav.scp", "text", "text_refs") or name.startswith("utt2")


def filter_lines(path: Path, keep: Set[str]) -> List[str]:
    """The lines of ``path`` whose first field is in ``keep``."""
    kept = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            fields = line.split(maxsplit=1)
            if fields and fields[0] in keep:
                kept.append(line)
    return kept


def spk2utt_lines(utt2spk_lines: Sequence[str]) -> List[str]:
    """``spk utt1 utt2 ...`` lines from ``utt spk`` lines, sorted by speaker."""
    utts_of: Dict[str, List[str]] = defaultdict(list)
    for line in utt2spk_lines:
        utt_id, speaker = line.split()[:2]
        utts_of[speaker].append(utt_id)
    return [f"{spk} {' '.join(utts)}\n" for spk, utts in sorted(utts_of.items())]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("in_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--fs", type=int, required=True, help="sample rate in Hz")
    parser.add_argument("--min_seconds", type=float, required=True)
    parser.add_argument("--max_seconds", type=float, required=True)
    args = parser.parse_args(argv)
    if args.min_seconds > args.max_seconds:
        parser.error(f"--min_seconds {args.min_seconds} > --max_seconds {args.max_seconds}")

    try:
        counts = read_num_samples(args.in_dir / "utt2num_samples")
    except (OSError, ValueError) as err:
        print(f"filter_by_duration.py: error: {err}", file=sys.stderr)
        return 1
    too_short = {u for u, n in counts.items() if n < args.min_seconds * args.fs}
    too_long = {u for u, n in counts.items() if n > args.max_seconds * args.fs}
    keep = set(counts) - too_short - too_long
    name = args.in_dir.name
    if not keep:
        print(
            f"filter_by_duration.py: error: {args.in_dir}: no utterance lasts between "
            f"{args.min_seconds} and {args.max_seconds} s",
            file=sys.stderr,
        )
        return 1

    partial = args.out_dir.with_name(args.out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for path in sorted(args.in_dir.iterdir()):
        if not path.is_file() or path.name == "spk2utt":
            continue
        if is_per_utterance(path.name):
            (partial / path.name).write_text("".join(filter_lines(path, keep)), encoding="utf-8")
        else:
            shutil.copyfile(path, partial / path.name)
    if (partial / "utt2spk").exists():
        lines = (partial / "utt2spk").read_text(encoding="utf-8").splitlines()
        (partial / "spk2utt").write_text("".join(spk2utt_lines(lines)), encoding="utf-8")
    shutil.rmtree(args.out_dir, ignore_errors=True)
    partial.rename(args.out_dir)
    print(
        f"filter_by_duration.py: {name}: kept {len(keep)} of {len(counts)} utterances; "
        f"removed {len(too_short)} shorter than {args.min_seconds} s and "
        f"{len(too_long)} longer than {args.max_seconds} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
