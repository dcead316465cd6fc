"""UrbanSound8K (Salamon et al. 2014) as one zero-shot class set with its ten folds.

    python -m espnet2_slap.corpora.urbansound8k --root /data/UrbanSound8K --out_dir data

The release unpacks as ``UrbanSound8K/metadata/UrbanSound8K.csv`` (columns
``slice_file_name,fsID,start,end,salience,fold,classID,class``) and
``UrbanSound8K/audio/fold1..fold10/*.wav``: 8732 clips of at most 4 s, 10 classes, 10 folds.
Sample rate, bit depth and channel count vary per file (as uploaded to Freesound); the data
dir points at the files as they are and inference down-mixes and resamples. Writes
``<out_dir>/us8k/`` with ``utt2label`` ("dog_bark" -> "dog bark"), ``labels`` and
``utt2fold``.
"""

from pathlib import Path
from typing import Dict, List, Optional

from espnet2_slap.corpora.caption_sets import read_csv_rows, report_missing, run_cli
from espnet2_slap.corpora.class_sets import base_parser, class_list, keep_readable, label_words
from espnet2_slap.corpora.kaldi_dir import Clip, check_layout, make_utt_id, write_data_dir

VARIABLE = "US8K"
METADATA = "metadata/UrbanSound8K.csv"
LAYOUT = """  UrbanSound8K/                   <- US8K points here (or at its parent)
    metadata/UrbanSound8K.csv     (slice_file_name,fsID,start,end,salience,fold,classID,class)
    audio/fold1/ ... audio/fold10/  (8732 wav files, rates and channels vary)"""


def find_root(root: Optional[str]) -> Path:
    """The release folder: ``root`` itself or its ``UrbanSound8K`` child."""
    if root and (Path(root) / "UrbanSound8K" / METADATA).is_file():
        root = str(Path(root) / "UrbanSound8K")
    return check_layout(VARIABLE, root, [METADATA, "audio"], LAYOUT)


def read_clips(release: Path, out_dir: Path, labels_as: str = "words") -> List[Clip]:
    """One :class:`Clip` per metadata row whose ``audio/fold<fold>/<slice_file_name>`` exists."""
    clips, missing = [], []
    rows = read_csv_rows(release / METADATA, ("slice_file_name", "fold", "class"), VARIABLE, release, LAYOUT)
    for row in rows:
        path = release / "audio" / f"fold{row['fold']}" / row["slice_file_name"]
        if not path.is_file():
            missing.append(f"fold{row['fold']}/{row['slice_file_name']}")
            continue
        label = label_words(row["class"]) if labels_as == "words" else row["class"]
        clips.append(
            Clip(
                utt_id=make_utt_id("us8k", Path(row["slice_file_name"]).stem),
                path=path,
                labels=[label],
                extra={"utt2fold": row["fold"]},
            )
        )
    report_missing("us8k", missing, len(rows), out_dir)
    return clips


def prepare(
    root: Optional[str], out_dir: str, labels_as: str = "words", set_name: str = "us8k"
) -> Dict[str, int]:
    """Write ``<out_dir>/<set_name>``; returns ``{set_name: number of clips}``."""
    clips = keep_readable("us8k", read_clips(find_root(root), Path(out_dir), labels_as))
    return {set_name: write_data_dir(Path(out_dir) / set_name, clips, labels=class_list(clips))}


def get_parser():
    parser = base_parser("Prepare UrbanSound8K (all 8732 clips, with utt2fold) as a zero-shot class set")
    parser.add_argument("--set_name", default="us8k", help="name of the data dir written")
    return parser


def main(argv=None) -> Dict[str, int]:
    return run_cli(get_parser(), prepare, argv)


if __name__ == "__main__":
    main()
