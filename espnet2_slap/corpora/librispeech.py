"""LibriSpeech test sets as speech-content retrieval sets (transcripts as captions).

    python -m espnet2_slap.corpora.librispeech --root /data/LibriSpeech --out_dir data

The release unpacks as ``LibriSpeech/<subset>/<speaker>/<chapter>/`` with
``<speaker>-<chapter>-<utt>.flac`` files and one ``<speaker>-<chapter>.trans.txt`` of
``<utt id> <TRANSCRIPT>`` lines. Each subset (default ``test-clean``: 2620 utterances,
``test-other``: 2939) becomes ``<out_dir>/librispeech_<subset with _>/`` whose caption is the
transcript, lower-cased unless ``--lowercase false``; ``text_refs`` is written so the
retrieval scorer reads one reference per clip. Transcript lines without audio are counted
and skipped; a requested subset that is absent is skipped with a message (an error only when
none is present).
"""

import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet2_slap.corpora.caption_sets import layout_error, report_missing, run_cli
from espnet2_slap.corpora.class_sets import keep_readable
from espnet2_slap.corpora.sources import note_file
from espnet2_slap.corpora.kaldi_dir import Clip, check_layout, clean_text, write_data_dir

VARIABLE = "LIBRISPEECH"
DEFAULT_SUBSETS = ("test-clean", "test-other")
LAYOUT = """  LibriSpeech/                    <- LIBRISPEECH points here (or at its parent)
    test-clean/1089/134686/1089-134686-0000.flac ... 1089-134686.trans.txt
    test-other/..."""


def set_name_of(subset: str) -> str:
    """``test-clean`` -> ``librispeech_test_clean``."""
    return "librispeech_" + subset.replace("-", "_")


def find_root(root: Optional[str], subsets: Sequence[str]) -> Path:
    """The ``LibriSpeech`` folder: ``root`` itself or its ``LibriSpeech`` child."""
    if root and any((Path(root) / "LibriSpeech" / s).is_dir() for s in subsets):
        root = str(Path(root) / "LibriSpeech")
    release = check_layout(VARIABLE, root, [], LAYOUT)
    if not any((release / s).is_dir() for s in subsets):
        raise layout_error(VARIABLE, root, f"no {', '.join(subsets)} folder", LAYOUT)
    return release


def read_clips(subset_dir: Path, out_dir: Path, lowercase: bool = True) -> List[Clip]:
    """One :class:`Clip` per transcript line whose ``.flac`` exists."""
    clips, missing, total = [], [], 0
    for transcripts in sorted(subset_dir.glob("*/*/*.trans.txt")):
        note_file(transcripts)
        for line in transcripts.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            total += 1
            utt, _, text = line.strip().partition(" ")
            path = transcripts.parent / f"{utt}.flac"
            if not path.is_file():
                missing.append(str(path))
                continue
            caption = clean_text(text.lower() if lowercase else text)
            speaker = utt.split("-", 1)[0]
            clips.append(Clip(utt_id=f"librispeech-{utt}", path=path, captions=[caption],
                              speaker=f"librispeech-{speaker}"))
    report_missing(set_name_of(subset_dir.name), missing, total, out_dir)
    return clips


def prepare(
    root: Optional[str], out_dir: str, subsets: Sequence[str] = DEFAULT_SUBSETS, lowercase: bool = True
) -> Dict[str, int]:
    """Write ``<out_dir>/librispeech_<subset>`` per present subset; returns clip counts."""
    subsets = [s for s in subsets if s]
    release = find_root(root, subsets)
    counts = {}
    for subset in subsets:
        if not (release / subset).is_dir():
            print(f"librispeech: skipping {subset}: no {release / subset}", file=sys.stderr)
            continue
        clips = keep_readable(f"librispeech {subset}", read_clips(release / subset, Path(out_dir), lowercase))
        counts[set_name_of(subset)] = write_data_dir(Path(out_dir) / set_name_of(subset), clips, refs=True)
    return counts


def get_parser():
    import argparse

    from espnet2.utils.types import str2bool

    parser = argparse.ArgumentParser(description="Prepare LibriSpeech test sets for speech-content retrieval")
    parser.add_argument("--root", required=True, help="the LibriSpeech folder (or its parent)")
    parser.add_argument("--out_dir", required=True, help="data dirs are written under it")
    parser.add_argument(
        "--subsets", nargs="+", default=list(DEFAULT_SUBSETS),
        help="subsets to prepare, e.g. test-clean test-other",
    )
    parser.add_argument("--lowercase", type=str2bool, default=True, help="lower-case the transcripts")
    return parser


def main(argv=None) -> Dict[str, int]:
    return run_cli(get_parser(), prepare, argv)


if __name__ == "__main__":
    main()
