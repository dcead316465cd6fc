#!/usr/bin/env python3
"""Split a Kaldi-style list (wav.scp, a key file, ...) into contiguous, near-equal parts.

    python scripts/split_scp.py data/train/wav.scp logdir/keys.1.scp logdir/keys.2.scp

Line order is kept; part sizes differ by at most one line. Fails when there are fewer lines
than parts (a job would get no work).
"""

import argparse
import sys
from pathlib import Path
from typing import List, Sequence


def split_evenly(lines: Sequence[str], n_parts: int) -> List[Sequence[str]]:
    """Contiguous chunks of ``lines``; the first ``len(lines) % n_parts`` get one more line."""
    size, extra = divmod(len(lines), n_parts)
    parts, start = [], 0
    for index in range(n_parts):
        stop = start + size + (1 if index < extra else 0)
        parts.append(lines[start:stop])
        start = stop
    return parts


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input", type=Path, help="the list to split")
    parser.add_argument("outputs", type=Path, nargs="+", help="one file per part")
    args = parser.parse_args(argv)

    with open(args.input, encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip()]
    if len(lines) < len(args.outputs):
        print(
            f"split_scp.py: error: {args.input} has {len(lines)} lines, "
            f"fewer than the {len(args.outputs)} parts asked for",
            file=sys.stderr,
        )
        return 1
    for output, part in zip(args.outputs, split_evenly(lines, len(args.outputs))):
        output.parent.mkdir(parents=True, exist_ok=True)
        with open(output, "w", encoding="utf-8") as handle:
            handle.writelines(part)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
