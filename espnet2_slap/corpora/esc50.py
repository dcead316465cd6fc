"""ESC-50 (Piczak 2015) as one zero-shot class set with its five folds.

    python -m espnet2_slap.corpora.esc50 --root /data/ESC-50-master --out_dir data

The release (``github.com/karolpiczak/ESC-50``) unpacks as ``ESC-50-master/audio/*.wav`` and
``ESC-50-master/meta/esc50.csv`` with the columns ``filename,fold,target,category,esc10,
src_file,take``: 2000 clips of 5 s, 50 classes of 40 clips, 5 folds. Writes
``<out_dir>/esc50/`` with ``utt2label`` (the category as words, "chirping_birds" ->
"chirping birds"), ``labels`` and ``utt2fold`` (1-5, for cross-validation). Rows whose audio
file is absent or unreadable are skipped with a message.
"""

from pathlib import Path
from typing import Dict, List, Optional

from espnet2_slap.corpora.caption_sets import read_csv_rows, report_missing, run_cli
from espnet2_slap.corpora.class_sets import base_parser, class_list, keep_readable, label_words
from espnet2_slap.corpora.kaldi_dir import Clip, check_layout, make_utt_id, write_data_dir

VARIABLE = "ESC50"
METADATA = "meta/esc50.csv"
LAYOUT = """  ESC-50-master/                  <- ESC50 points here (or at its parent)
    meta/esc50.csv                (filename,fold,target,category,esc10,src_file,take)
    audio/1-100032-A-0.wav ...    (2000 clips)"""


def find_root(root: Optional[str]) -> Path:
    """The release folder: ``root`` itself or its ``ESC-50-master`` child."""
    if root and (Path(root) / "ESC-50-master" / METADATA).is_file():
        root = str(Path(root) / "ESC-50-master")
    return check_layout(VARIABLE, root, [METADATA, "audio"], LAYOUT)


def read_clips(release: Path, out_dir: Path, labels_as: str = "words") -> List[Clip]:
    """One :class:`Clip` per row of ``meta/esc50.csv`` whose audio file exists."""
    clips, missing = [], []
    rows = read_csv_rows(release / METADATA, ("filename", "fold", "category"), VARIABLE, release, LAYOUT)
    for row in rows:
        path = release / "audio" / row["filename"]
        if not path.is_file():
            missing.append(row["filename"])
            continue
        label = label_words(row["category"]) if labels_as == "words" else row["category"]
        clips.append(
            Clip(
                utt_id=make_utt_id("esc50", Path(row["filename"]).stem),
                path=path,
                labels=[label],
                extra={"utt2fold": row["fold"]},
            )
        )
    report_missing("esc50", missing, len(rows), out_dir)
    return clips


def prepare(
    root: Optional[str], out_dir: str, labels_as: str = "words", set_name: str = "esc50"
) -> Dict[str, int]:
    """Write ``<out_dir>/<set_name>``; returns ``{set_name: number of clips}``."""
    clips = keep_readable("esc50", read_clips(find_root(root), Path(out_dir), labels_as))
    return {set_name: write_data_dir(Path(out_dir) / set_name, clips, labels=class_list(clips))}


def get_parser():
    parser = base_parser("Prepare ESC-50 (all 2000 clips, with utt2fold) as a zero-shot class set")
    parser.add_argument("--set_name", default="esc50", help="name of the data dir written")
    return parser


def main(argv=None) -> Dict[str, int]:
    return run_cli(get_parser(), prepare, argv)


if __name__ == "__main__":
    main()
