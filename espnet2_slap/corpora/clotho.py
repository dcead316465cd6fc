"""Clotho v2.1 (Drossos et al. 2020): development / validation / evaluation caption sets.

    python -m espnet2_slap.corpora.clotho --root /data/clotho --out_dir data [--splits evaluation]

Two layouts are accepted (``CLOTHO`` may also point at the folder holding ``CLOTHO_v2.1``):

* Zenodo (``zenodo.org/records/4783391``): ``clotho_captions_<split>.csv`` beside the split
  folders that ``clotho_audio_<split>.7z`` unpacks to (``<split>/*.wav``);
* aac-datasets: ``CLOTHO_v2.1/clotho_csv_files/clotho_captions_<split>.csv`` and
  ``CLOTHO_v2.1/clotho_audio_files/<split>/*.wav``.

The captions CSV has ``file_name,caption_1,...,caption_5`` (3839 / 1045 / 1045 rows). File
names hold spaces and commas, so utterance ids come from ``make_utt_id`` (sanitised name plus a
short hash). Names are taken verbatim from the CSV: three development files begin with a
space, in the CSV and on disk alike. A name not on disk verbatim is compared leniently
(Unicode NFC, surrounding white space dropped, as some unpackers rename); a file found that
way is used and named on stderr beside the CSV's name. Writes ``<out_dir>/clotho_<split>/``
as caption sets (``text``, ``text_refs``, ``utt2captions``, ``utt2dur``; see
:mod:`espnet2_slap.corpora.caption_sets`). Each audio header is read: rows whose file is
absent or unreadable (empty, not audio) are skipped with one line each and counted per split
(listed in ``<out_dir>/local/``); a split without any audio is a layout error.
"""

import sys
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from espnet2_slap.corpora.caption_sets import (
    AudioIndex,
    base_parser,
    caption_clip,
    first_readable,
    layout_error,
    read_csv_rows,
    report_missing,
    report_unreadable,
    run_cli,
    select_splits,
)
from espnet2_slap.corpora.kaldi_dir import Clip, check_layout, make_utt_id, write_data_dir

VARIABLE = "CLOTHO"
SPLITS = ("development", "validation", "evaluation")
CAPTION_COLUMNS = tuple(f"caption_{i}" for i in range(1, 6))
LAYOUT = """  either the Zenodo release, unpacked:      or aac-datasets' copy:
    <CLOTHO>/                                 <CLOTHO>/CLOTHO_v2.1/   (or CLOTHO_v2.1 itself)
      clotho_captions_development.csv           clotho_csv_files/clotho_captions_<split>.csv
      clotho_captions_validation.csv            clotho_audio_files/development/*.wav
      clotho_captions_evaluation.csv            clotho_audio_files/validation/*.wav
      development/*.wav  validation/*.wav       clotho_audio_files/evaluation/*.wav
      evaluation/*.wav
  captions CSV columns: file_name,caption_1,...,caption_5"""


def find_split(release: Path, split: str) -> Tuple[Optional[Path], List[Path]]:
    """(captions CSV or None, audio folders to search) of ``split`` in either layout."""
    csv_names = [release / f"clotho_captions_{split}.csv",
                 release / "clotho_csv_files" / f"clotho_captions_{split}.csv"]
    csv_path = next((p for p in csv_names if p.is_file()), None)
    return csv_path, [release / split, release / "clotho_audio_files" / split]


def find_release(root: Optional[str]) -> Path:
    """``root`` or its ``CLOTHO_v2.1`` child, whichever holds a captions CSV."""
    if root and (Path(root) / "CLOTHO_v2.1").is_dir():
        root = str(Path(root) / "CLOTHO_v2.1")
    release = check_layout(VARIABLE, root, [], LAYOUT)
    if not any(find_split(release, split)[0] for split in SPLITS):
        raise layout_error(VARIABLE, root, "no clotho_captions_<split>.csv found", LAYOUT)
    return release


def find_audio(audio: AudioIndex, name: str, set_name: str, listed: Set[str]) -> List[Path]:
    """The files for the CSV's ``name``: verbatim, else the lenient match (named on stderr)
    unless that file is itself a name of the CSV (``listed``)."""
    exact = audio.find_all([name])
    if exact:
        return exact
    near = [path for path in audio.find_near(name) if path.name not in listed]
    for path in near[:1]:
        print(f"{set_name}: the CSV's file name {name!r} is not on disk; using {path.name!r} "
              f"({path}), the same name but for white space or Unicode form", file=sys.stderr)
    return near[:1]


def read_split(release: Path, split: str, out_dir: Path) -> List[Clip]:
    """One :class:`Clip` per CSV row whose audio exists and reads, with its five captions."""
    csv_path, folders = find_split(release, split)
    if csv_path is None:
        raise layout_error(VARIABLE, release, f"no clotho_captions_{split}.csv", LAYOUT)
    rows = read_csv_rows(csv_path, ("file_name",) + CAPTION_COLUMNS, VARIABLE, release, LAYOUT,
                         verbatim=("file_name",))
    audio = AudioIndex(folders)
    if not audio.folders:
        raise layout_error(VARIABLE, release, f"no audio folder {split}/ or "
                           f"clotho_audio_files/{split}/", LAYOUT)
    set_name = f"clotho_{split}"
    listed = {row["file_name"] for row in rows}
    clips, missing, unreadable = [], [], []
    for row in rows:
        candidates = find_audio(audio, row["file_name"], set_name, listed)
        if not candidates:
            missing.append(row["file_name"])
            continue
        path, duration = first_readable(set_name, candidates, unreadable)
        if path is None:
            continue
        clip = caption_clip(make_utt_id("clotho", row["file_name"]), path,
                            [row[c] for c in CAPTION_COLUMNS], duration)
        if clip is not None:
            clips.append(clip)
    report_missing(set_name, missing, len(rows), out_dir)
    report_unreadable(set_name, unreadable, len(rows), out_dir)
    if rows and not clips:
        raise layout_error(VARIABLE, release, f"none of the {len(rows)} files of "
                           f"{csv_path.name} is a readable file in "
                           f"{' or '.join(map(str, audio.folders))}", LAYOUT)
    return clips


def prepare(root: Optional[str], out_dir: str, splits: str = "") -> Dict[str, int]:
    """Write ``<out_dir>/clotho_<split>`` for each split; returns clips per set name."""
    release = find_release(root)
    counts = {}
    for split in select_splits(splits, SPLITS):
        clips = read_split(release, split, Path(out_dir))
        counts[f"clotho_{split}"] = write_data_dir(Path(out_dir) / f"clotho_{split}", clips,
                                                   refs=True)
    return counts


def get_parser():
    return base_parser("Prepare Clotho v2.1 (development, validation, evaluation) as caption "
                       "sets clotho_<split>", SPLITS)


def main(argv=None) -> Dict[str, int]:
    return run_cli(get_parser(), prepare, argv)


if __name__ == "__main__":
    main()
