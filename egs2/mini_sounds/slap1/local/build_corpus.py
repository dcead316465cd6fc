#!/usr/bin/env python3
"""Command line of the mini_sounds corpus builder; ``local/data.sh`` runs its stages in order.

    build_corpus.py packages [--install]
    build_corpus.py prepare --source_root / --audio_dir downloads/mini_sounds \
        --local_dir data/local --nj 2 --synth fluidsynth,espeak,festival,flite
    build_corpus.py split   --local_dir data/local --seed 0
    build_corpus.py compose --local_dir data/local --audio_dir downloads/mini_sounds \
        --data_dir data --num_train 2400 --num_valid 150 --num_test 200 --seed 0 --nj 2
    build_corpus.py summary --local_dir data/local --data_dir data
"""

import argparse
import sys
from pathlib import Path
from typing import List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mini_sounds.packages import REQUIRED_PACKAGES, ensure_packages  # noqa: E402
from mini_sounds.prepare import SYNTHESIZERS, prepare  # noqa: E402
from mini_sounds.stages import compose_stage, split_stage  # noqa: E402
from mini_sounds.summary import audit, count_by_split, format_summary  # noqa: E402


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _synthesizers(text: str) -> Tuple[str, ...]:
    names = tuple(n for n in text.split(",") if n and n != "none")
    unknown = [n for n in names if n not in SYNTHESIZERS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown synthesizer(s) {unknown}; "
                                         f"choose from {','.join(SYNTHESIZERS)} or none")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    stages = parser.add_subparsers(dest="stage", required=True)

    packages = stages.add_parser("packages", help="check the Debian packages the corpus needs")
    packages.add_argument("--install", action="store_true",
                          help="install missing packages with apt-get (as root)")

    prep = stages.add_parser("prepare", help="decode / render every source to 16 kHz wavs")
    prep.add_argument("--source_root", type=Path, default=Path("/"),
                      help="folder that holds usr/share/... of the packages")
    prep.add_argument("--audio_dir", type=Path, required=True)
    prep.add_argument("--local_dir", type=Path, required=True)
    prep.add_argument("--nj", type=_positive, default=2)
    prep.add_argument("--synth", type=_synthesizers, default=SYNTHESIZERS,
                      help="comma-separated synthesizers to render with, or 'none' "
                           f"(default: {','.join(SYNTHESIZERS)})")
    prep.add_argument("--install", action=argparse.BooleanOptionalAction, default=True,
                      help="with --source_root /: install missing Debian packages as root "
                           "(default) instead of stopping")

    split = stages.add_parser("split", help="assign recordings to train / valid / test")
    split.add_argument("--local_dir", type=Path, required=True)
    split.add_argument("--seed", type=int, default=0)

    compose = stages.add_parser("compose", help="compose clips and write the data dirs")
    compose.add_argument("--local_dir", type=Path, required=True)
    compose.add_argument("--audio_dir", type=Path, required=True)
    compose.add_argument("--data_dir", type=Path, required=True)
    compose.add_argument("--num_train", type=_positive, default=2400)
    compose.add_argument("--num_valid", type=_positive, default=150)
    compose.add_argument("--num_test", type=_positive, default=200)
    compose.add_argument("--seed", type=int, default=0)
    compose.add_argument("--nj", type=_positive, default=2)

    summary = stages.add_parser("summary", help="audit the splits and print their sizes")
    summary.add_argument("--local_dir", type=Path, required=True)
    summary.add_argument("--data_dir", type=Path, required=True)
    return parser


def _check_packages(install: bool) -> None:
    try:
        installed = ensure_packages(install)
    except RuntimeError as err:
        sys.exit(f"build_corpus.py: {err}")
    if installed:
        print(f"installed {' '.join(installed)}")


def main(argv: Optional[List[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    if args.stage == "packages":
        _check_packages(args.install)
        print(f"all {len(REQUIRED_PACKAGES)} Debian packages are installed")
    elif args.stage == "prepare":
        if not args.source_root.is_dir():
            sys.exit(f"--source_root {args.source_root} is not a directory")
        if args.source_root.resolve() == Path("/"):
            _check_packages(args.install)
        recordings = prepare(args.source_root, args.audio_dir, args.local_dir, args.nj,
                             args.synth)
        print(f"prepared {len(recordings)} source recordings "
              f"({len({r.label for r in recordings})} classes)")
    elif args.stage == "split":
        split_stage(args.local_dir, args.seed)
        print("source recordings per split:", count_by_split(args.local_dir))
    elif args.stage == "compose":
        counts = {"train": args.num_train, "valid": args.num_valid, "test": args.num_test}
        compose_stage(args.local_dir, args.audio_dir, args.data_dir, counts, args.seed, args.nj)
    else:
        print("source recordings per split:", count_by_split(args.local_dir))
        print(format_summary(audit(args.data_dir, args.local_dir)))


if __name__ == "__main__":
    main()
