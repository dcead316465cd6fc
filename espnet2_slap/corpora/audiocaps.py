"""AudioCaps v1 (Kim et al. 2019): train / val / test caption sets.

    python -m espnet2_slap.corpora.audiocaps --root /data/audiocaps --out_dir data [--splits test]

Metadata: ``train.csv``, ``val.csv``, ``test.csv`` (``github.com/cdjkim/audiocaps``,
``dataset/``) with ``audiocap_id,youtube_id,start_time,caption``, one row per caption (train
1 caption per clip, val/test 5). A clip is the pair (``youtube_id``, ``start_time``); its rows
become one clip with all its captions.

Users fetch the audio from YouTube themselves, so some clips are always missing. The CSVs are
looked up, in order, in ``<root>/``, ``<root>/dataset/``, ``<root>/csv_files/`` and
``<root>/AUDIOCAPS/``. A clip's audio is the first file found, searching the folders

    <A>/<split>/   then   <A>/

for ``A`` in: ``--audio_dir`` (when given), ``<root>/audio_32000Hz``, ``<root>/audio``,
``<root>/waveforms``, ``<root>/AUDIOCAPS/audio_32000Hz``, ``<root>`` — and in each folder the
names ``{youtube_id}_{start_time}.wav``, ``.flac`` (aac-datasets), then ``Y{youtube_id}.wav``,
``.flac`` (WavCaps' copy). Split folders come first, so one flat folder for all splits works
too. Missing clips are counted per split and listed in ``<out_dir>/local/`` (never fatal); a
split with no audio at all is a layout error. Writes ``<out_dir>/audiocaps_<split>/``.
"""

from pathlib import Path
from typing import Dict, List, Optional

from espnet2_slap.corpora.caption_sets import (
    AudioIndex,
    base_parser,
    caption_clip,
    layout_error,
    read_csv_rows,
    report_missing,
    run_cli,
    select_splits,
)
from espnet2_slap.corpora.kaldi_dir import Clip, check_layout, make_utt_id, write_data_dir

VARIABLE = "AUDIOCAPS"
SPLITS = ("train", "val", "test")
COLUMNS = ("audiocap_id", "youtube_id", "start_time", "caption")
CSV_FOLDERS = (".", "dataset", "csv_files", "AUDIOCAPS")
AUDIO_FOLDERS = ("audio_32000Hz", "audio", "waveforms", "AUDIOCAPS/audio_32000Hz", ".")
LAYOUT = """  <AUDIOCAPS>/
    train.csv val.csv test.csv      (or in dataset/, csv_files/ or AUDIOCAPS/;
                                     columns audiocap_id,youtube_id,start_time,caption)
    audio/<split>/{youtube_id}_{start_time}.flac   (or .wav; or Y{youtube_id}.wav/.flac;
                                     folders audio_32000Hz/, audio/, waveforms/ or the root,
                                     with or without <split>/ subfolders; or --audio_dir)"""


def find_csv(root: Path, split: str) -> Optional[Path]:
    """``<split>.csv`` in the first of the CSV folders that has it."""
    return next((root / d / f"{split}.csv" for d in CSV_FOLDERS
                 if (root / d / f"{split}.csv").is_file()), None)


def audio_folders(root: Path, split: str, audio_dir: Optional[str]) -> List[Path]:
    """The folders searched for ``split``'s audio, in order (see the module doc)."""
    bases = ([Path(audio_dir)] if audio_dir else []) + [root / d for d in AUDIO_FOLDERS]
    return [folder for base in bases for folder in (base / split, base)]


def file_names(youtube_id: str, start_time: str) -> List[str]:
    """The accepted audio file names of one clip, in order of preference."""
    return [f"{youtube_id}_{start_time}{ext}" for ext in (".wav", ".flac")] + [
        f"Y{youtube_id}{ext}" for ext in (".wav", ".flac")]


def read_split(root: Path, split: str, out_dir: Path, audio_dir: Optional[str]) -> List[Clip]:
    """One :class:`Clip` per (youtube_id, start_time) whose audio is found."""
    csv_path = find_csv(root, split)
    if csv_path is None:
        raise layout_error(VARIABLE, root, f"no {split}.csv", LAYOUT)
    rows = read_csv_rows(csv_path, COLUMNS, VARIABLE, root, LAYOUT)
    captions: Dict[tuple, List[str]] = {}
    for row in rows:
        start = row["start_time"]
        if start.replace(".", "", 1).isdigit() and float(start).is_integer():
            start = str(int(float(start)))  # "30.0" and "30" name the same clip
        captions.setdefault((row["youtube_id"], start), []).append(row["caption"])
    audio = AudioIndex(audio_folders(root, split, audio_dir))
    clips, missing = [], []
    for (youtube_id, start), texts in captions.items():
        path = audio.find(file_names(youtube_id, start))
        if path is None:
            missing.append(f"{youtube_id}_{start}")
            continue
        clip = caption_clip(make_utt_id("audiocaps", f"{youtube_id}_{start}"), path, texts)
        if clip is not None:
            clips.append(clip)
    report_missing(f"audiocaps_{split}", missing, len(captions), out_dir)
    if captions and not clips:
        raise layout_error(VARIABLE, root, f"none of the {len(captions)} clips of {csv_path.name} "
                           f"has an audio file (e.g. {file_names(*next(iter(captions)))[0]})",
                           LAYOUT)
    return clips


def prepare(root: Optional[str], out_dir: str, splits: str = "",
            audio_dir: Optional[str] = None) -> Dict[str, int]:
    """Write ``<out_dir>/audiocaps_<split>`` for each split; returns clips per set name."""
    release = check_layout(VARIABLE, root, [], LAYOUT)
    selected = select_splits(splits, SPLITS)
    if not any(find_csv(release, split) for split in selected):
        raise layout_error(VARIABLE, root, f"no {'/'.join(selected)}.csv found", LAYOUT)
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
