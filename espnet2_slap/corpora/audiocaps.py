"""AudioCaps v1 (Kim et al. 2019): train / val / test caption sets.

    python -m espnet2_slap.corpora.audiocaps --root /data/audiocaps --out_dir data [--splits test]

Metadata: ``train.csv``, ``val.csv``, ``test.csv`` (``github.com/cdjkim/audiocaps``,
``dataset/``) with ``audiocap_id,youtube_id,start_time,caption``, one row per caption (train
1 caption per clip, val/test 5). A clip is the pair (``youtube_id``, ``start_time``); its rows
become one clip with all its captions. (``dataset2.0/`` and aac-datasets' ``csv_files_v2/``
are AudioCaps 2.0, not read.)

Users fetch the audio from YouTube themselves, so some clips are always missing. Layouts read:

* aac-datasets 0.6 and later: ``AUDIOCAPS/csv_files_v1/<split>.csv`` and
  ``AUDIOCAPS/audio_32000Hz/<split>/{youtube_id}_{start_time}.flac``; 0.5 and earlier put the
  CSVs in ``AUDIOCAPS/`` itself (the root may be the folder holding ``AUDIOCAPS`` or
  ``AUDIOCAPS`` itself; any ``audio_<rate>Hz`` folder is searched);
* the audiocaps-download tool: one file per caption row, ``<split>/<audiocap_id>.ogg`` (or
  ``.wav``, ``.flac``), beside a clone of the authors' repository (``dataset/``);
* WavCaps' copy: ``Y{youtube_id}.wav`` / ``.flac``; or any of these names in one flat folder.

The CSVs are looked up, in order, in the folders of :data:`CSV_FOLDERS` below the root. A
clip's audio is the first readable file found, searching the folders

    <A>/<split>/   then   <A>/

for ``A`` in: ``--audio_dir`` (when given), ``<root>/audio_32000Hz`` (and other
``audio_<rate>Hz``), ``<root>/audio``, ``<root>/waveforms``, the same below
``<root>/AUDIOCAPS/``, ``<root>`` — and in each folder the names
``{youtube_id}_{start_time}`` (aac-datasets), ``Y{youtube_id}`` (WavCaps), then
``<audiocap_id>`` of each of the clip's rows (audiocaps-download), each with ``.wav``,
``.flac``, ``.ogg``. Every header is read: a clip without a file, or whose files are all
unreadable (empty, not audio), is skipped with one line and counted per split (listed in
``<out_dir>/local/``, never fatal); a split with no audio at all is a layout error. Writes
``<out_dir>/audiocaps_<split>/``.
"""

from pathlib import Path
from typing import Dict, List, Optional, Sequence

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

VARIABLE = "AUDIOCAPS"
SPLITS = ("train", "val", "test")
COLUMNS = ("audiocap_id", "youtube_id", "start_time", "caption")
# where the CSVs are, in order: the root (aac-datasets <= 0.5 with the root at AUDIOCAPS/; the
# audiocaps-download tool's checked copies), the authors' repository, aac-datasets >= 0.6
CSV_FOLDERS = (".", "dataset", "csv_files_v1", "csv_files", "AUDIOCAPS/csv_files_v1",
               "AUDIOCAPS")
AUDIO_NAMES = ("audio", "waveforms")
EXTENSIONS = (".wav", ".flac", ".ogg")
LAYOUT = """  <AUDIOCAPS>/
    train.csv val.csv test.csv      (or in dataset/ (the authors' repository), csv_files_v1/
                                     (aac-datasets >= 0.6), csv_files/, AUDIOCAPS/ or
                                     AUDIOCAPS/csv_files_v1/; columns
                                     audiocap_id,youtube_id,start_time,caption)
    audio_32000Hz/<split>/{youtube_id}_{start_time}.flac    (aac-datasets; also under AUDIOCAPS/)
    <split>/<audiocap_id>.ogg       (audiocaps-download: one file per caption row)
    audio/<split>/Y{youtube_id}.wav (WavCaps' copy)
      any of these names with .wav, .flac or .ogg, in audio_<rate>Hz/, audio/, waveforms/ or
      the root, with or without <split>/ subfolders; or under --audio_dir"""


def csv_folders(root: Path) -> List[Path]:
    """The folders searched for the CSVs, in order."""
    return [root / d for d in CSV_FOLDERS]


def find_csv(root: Path, split: str) -> Optional[Path]:
    """``<split>.csv`` in the first of the CSV folders that has it."""
    return next((folder / f"{split}.csv" for folder in csv_folders(root)
                 if (folder / f"{split}.csv").is_file()), None)


def audio_bases(root: Path) -> List[Path]:
    """``<root>``'s audio folders (``audio_32000Hz`` first, then other ``audio_<rate>Hz``)."""
    bases = []
    for parent in (root, root / "AUDIOCAPS"):
        rates = sorted(parent.glob("audio_*Hz"), key=lambda p: (p.name != "audio_32000Hz", p.name))
        bases += [parent / "audio_32000Hz"] + [p for p in rates if p.name != "audio_32000Hz"]
        bases += [parent / name for name in AUDIO_NAMES]
    return bases + [root]


def audio_folders(root: Path, split: str, audio_dir: Optional[str]) -> List[Path]:
    """The folders searched for ``split``'s audio, in order (see the module doc)."""
    bases = ([Path(audio_dir)] if audio_dir else []) + audio_bases(root)
    return [folder for base in bases for folder in (base / split, base)]


def file_names(youtube_id: str, start_time: str, audiocap_ids: Sequence[str] = ()) -> List[str]:
    """The accepted audio file names of one clip, in order of preference."""
    stems = [f"{youtube_id}_{start_time}", f"Y{youtube_id}"] + list(audiocap_ids)
    return [f"{stem}{ext}" for stem in stems for ext in EXTENSIONS]


def read_split(root: Path, split: str, out_dir: Path, audio_dir: Optional[str]) -> List[Clip]:
    """One :class:`Clip` per (youtube_id, start_time) whose audio is found and reads."""
    csv_path = find_csv(root, split)
    if csv_path is None:
        raise layout_error(VARIABLE, root, no_csv_problem([split], root), LAYOUT)
    rows = read_csv_rows(csv_path, COLUMNS, VARIABLE, root, LAYOUT)
    captions: Dict[tuple, List[str]] = {}
    row_ids: Dict[tuple, List[str]] = {}
    for row in rows:
        start = row["start_time"]
        if start.replace(".", "", 1).isdigit() and float(start).is_integer():
            start = str(int(float(start)))  # "30.0" and "30" name the same clip
        captions.setdefault((row["youtube_id"], start), []).append(row["caption"])
        row_ids.setdefault((row["youtube_id"], start), []).append(row["audiocap_id"])
    audio = AudioIndex(audio_folders(root, split, audio_dir))
    set_name = f"audiocaps_{split}"
    clips, missing, unreadable = [], [], []
    for (youtube_id, start), texts in captions.items():
        candidates = audio.find_all(file_names(youtube_id, start, row_ids[(youtube_id, start)]))
        if not candidates:
            missing.append(f"{youtube_id}_{start}")
            continue
        path, duration = first_readable(set_name, candidates, unreadable)
        if path is None:
            continue
        clip = caption_clip(make_utt_id("audiocaps", f"{youtube_id}_{start}"), path, texts,
                            duration)
        if clip is not None:
            clips.append(clip)
    report_missing(set_name, missing, len(captions), out_dir)
    report_unreadable(set_name, unreadable, len(captions), out_dir)
    if captions and not clips:
        first = next(iter(captions))
        raise layout_error(VARIABLE, root, f"none of the {len(captions)} clips of {csv_path.name} "
                           f"has a readable audio file (e.g. "
                           f"{' or '.join(file_names(*first, row_ids[first])[::3][:3])}, searched "
                           f"in {', '.join(map(str, audio_folders(root, split, audio_dir)))})",
                           LAYOUT)
    return clips


def no_csv_problem(splits: Sequence[str], root: Path) -> str:
    """The problem "no CSV found", naming every folder searched."""
    names = "/".join(splits)
    return (f"no {names}.csv found; searched "
            f"{', '.join(str(folder) + '/' for folder in csv_folders(root))}")


def prepare(root: Optional[str], out_dir: str, splits: str = "",
            audio_dir: Optional[str] = None) -> Dict[str, int]:
    """Write ``<out_dir>/audiocaps_<split>`` for each split; returns clips per set name."""
    release = check_layout(VARIABLE, root, [], LAYOUT)
    selected = select_splits(splits, SPLITS)
    if not any(find_csv(release, split) for split in selected):
        raise layout_error(VARIABLE, root, no_csv_problem(selected, release), LAYOUT)
    counts = {}
    for split in selected:
        clips = read_split(release, split, Path(out_dir), audio_dir)
        counts[f"audiocaps_{split}"] = write_data_dir(Path(out_dir) / f"audiocaps_{split}",
                                                      clips, refs=True)
    return counts


def get_parser():
    parser = base_parser("Prepare AudioCaps (train, val, test) as caption sets "
                         "audiocaps_<split>; clips without audio are counted and skipped", SPLITS)
    parser.add_argument("--audio_dir", default=None,
                        help="folder of the downloaded audio, searched first (<dir>/<split>/, "
                        "then <dir>/)")
    return parser


def main(argv=None) -> Dict[str, int]:
    return run_cli(get_parser(), prepare, argv)


if __name__ == "__main__":
    main()
