"""AudioSet (Gemmeke et al. 2017) segment lists as tagging sets: balanced, eval, full.

    python -m espnet2_slap.corpora.audioset --root /data/audioset --out_dir data [--full true]

Google releases only the segment lists; the audio is fetched from YouTube by each user, so
the clips present differ from copy to copy. ``$AUDIOSET`` holds the official CSV files and
an ``audio/`` folder (any depth) of the downloaded clips::

    balanced_train_segments.csv   # YTID, start_seconds, end_seconds, positive_labels
    eval_segments.csv             # 3 header lines starting with '#', labels quoted: "/m/a,/m/b"
    unbalanced_train_segments.csv # only for --full true
    class_labels_indices.csv      # index,mid,display_name (527 classes)
    audio/...                     # one file per segment, .wav/.flac/.ogg

A clip's file is found by its stem: ``<YTID>``, ``Y<YTID>`` or either followed by
``_<start>`` or ``_<start>_<end>`` (seconds as in the CSV, as integers, or with 1 or 3
decimals), the names of common download tools. Segments without a file or with an
unreadable one are counted and skipped, never fatal. Writes ``balanced_train`` (AudioSet-20K),
``eval`` and, with ``--full true``, ``full_train`` (balanced + unbalanced, ~2M), each with
``utt2label`` / ``text`` holding the label mids and ``labels`` the 527 mids in index order.
"""

import csv
import os
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from espnet2.utils.types import str2bool

from espnet2_slap.corpora.class_sets import keep_readable
from espnet2_slap.corpora.caption_sets import run_cli
from espnet2_slap.corpora.sources import note_file
from espnet2_slap.corpora.kaldi_dir import (
    Clip,
    CorpusLayoutError,
    check_layout,
    make_utt_id,
    write_data_dir,
)

VARIABLE = "AUDIOSET"
CLASS_CSV = "class_labels_indices.csv"
BALANCED_CSV = "balanced_train_segments.csv"
EVAL_CSV = "eval_segments.csv"
UNBALANCED_CSV = "unbalanced_train_segments.csv"
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
LAYOUT = """  audioset/                          <- AUDIOSET points here
    class_labels_indices.csv         (index,mid,display_name)
    balanced_train_segments.csv      (# header lines; YTID, start_seconds, end_seconds, "mid,mid")
    eval_segments.csv
    unbalanced_train_segments.csv    (for --full true)
    audio/**/<YTID>[_<start>[_<end>]].wav|flac|ogg   (clips downloaded by you; Y<YTID> also found)"""


def read_class_labels(root: Path) -> List[Tuple[str, str]]:
    """``[(mid, display_name)]`` in index order from ``class_labels_indices.csv``."""
    rows = []
    note_file(root / CLASS_CSV)
    with open(root / CLASS_CSV, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = [f.strip() for f in reader.fieldnames or []]
        if not {"index", "mid", "display_name"} <= set(fields):
            raise layout_error(VARIABLE, root, f"{CLASS_CSV} has columns {fields}, expected index,mid,display_name", LAYOUT)
        for row in reader:
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
            rows.append((int(row["index"]), row["mid"], row["display_name"]))
    return [(mid, name) for _, mid, name in sorted(rows)]


def read_segments(path: Path) -> List[Tuple[str, str, str, List[str]]]:
    """``[(ytid, start, end, [mid, ...])]`` of a segment CSV (``#`` lines are comments).

    Raises:
        CorpusLayoutError: a data row without four fields.
    """
    segments = []
    note_file(path)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = csv.reader((line for line in handle if not line.lstrip().startswith("#")), skipinitialspace=True)
        for number, row in enumerate(rows, 1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 4:
                raise layout_error(VARIABLE, path.parent, f"{path.name}: data row {number} has {len(row)} fields, expected 4: {row}", LAYOUT)
            ytid, start, end, labels = (field.strip() for field in row)
            segments.append((ytid, start, end, [mid.strip() for mid in labels.split(",") if mid.strip()]))
    return segments


def index_audio(audio_dir: Path) -> Dict[str, Path]:
    """File stem -> path of every audio file under ``audio_dir`` (first one wins)."""
    found: Dict[str, Path] = {}
    for folder, _, files in os.walk(audio_dir):
        for name in sorted(files):
            stem, ext = os.path.splitext(name)
            if ext.lower() in AUDIO_EXTENSIONS:
                found.setdefault(stem, Path(folder) / name)
    return found


def _number_forms(seconds: str) -> List[str]:
    value = float(seconds)
    return list(dict.fromkeys([seconds, str(int(value)), f"{value:.1f}", f"{value:.3f}", str(int(round(value * 1000)))]))


def candidate_stems(ytid: str, start: str, end: str) -> List[str]:
    """File stems a download tool may have given the segment ``ytid`` [start, end]."""
    stems = []
    for base in (ytid, "Y" + ytid):
        stems.append(base)
        for s in _number_forms(start):
            stems.append(f"{base}_{s}")
            stems += [f"{base}_{s}_{e}" for e in _number_forms(end)]
    return stems


def segment_clips(
    name: str, segments: Iterable[Tuple[str, str, str, List[str]]], audio: Dict[str, Path], known: set
) -> List[Clip]:
    """Clips of the segments that have an audio file; missing ones and unknown mids reported."""
    clips, missing, unknown = [], [], 0
    for ytid, start, end, labels in segments:
        path = next((audio[s] for s in candidate_stems(ytid, start, end) if s in audio), None)
        if path is None:
            missing.append(ytid)
            continue
        kept = [mid for mid in labels if mid in known]
        unknown += len(labels) - len(kept)
        if not kept:
            continue
        clips.append(Clip(utt_id=make_utt_id("audioset", f"{ytid}_{int(round(float(start) * 1000))}"), path=path, labels=kept))
    if missing:
        print(
            f"audioset {name}: {len(missing)} segments have no audio file (skipped), e.g. {missing[0]}",
            file=sys.stderr,
        )
    if unknown:
        print(f"audioset {name}: {unknown} labels are not in {CLASS_CSV} (dropped)", file=sys.stderr)
    return clips


def prepare(root: Optional[str], out_dir: str, full: bool = False, audio_dir: Optional[str] = None) -> Dict[str, int]:
    """Write ``balanced_train``, ``eval`` (and ``full_train``); returns clips per set."""
    required = [CLASS_CSV, BALANCED_CSV, EVAL_CSV] + ([UNBALANCED_CSV] if full else [])
    release = check_layout(VARIABLE, root, required, LAYOUT)
    audio_root = Path(audio_dir) if audio_dir else release / "audio"
    if not audio_root.is_dir():
        raise layout_error(VARIABLE, release, f"no audio folder {audio_root} (give --audio_dir)", LAYOUT)
    audio = index_audio(audio_root)
    classes = read_class_labels(release)
    mids = [mid for mid, _ in classes]
    known = set(mids)
    sets = {"balanced_train": [BALANCED_CSV], "eval": [EVAL_CSV]}
    if full:
        sets["full_train"] = [BALANCED_CSV, UNBALANCED_CSV]
    counts = {}
    for name, files in sets.items():
        segments = [seg for file in files for seg in read_segments(release / file)]
        clips = keep_readable(f"audioset {name}", segment_clips(name, segments, audio, known))
        unique = {clip.utt_id: clip for clip in clips}  # a segment listed twice is one clip
        counts[name] = write_data_dir(Path(out_dir) / name, unique.values(), labels=mids)
        with open(Path(out_dir) / name / "label_names", "w", encoding="utf-8") as handle:
            handle.writelines(f"{mid} {display}\n" for mid, display in classes)
    return counts


def get_parser():
    import argparse

    parser = argparse.ArgumentParser(description="Prepare AudioSet balanced / eval (/ full) tagging sets")
    parser.add_argument("--root", required=True, help="folder with the official segment CSVs (AUDIOSET)")
    parser.add_argument("--out_dir", required=True, help="data dirs are written under it")
    parser.add_argument("--full", type=str2bool, default=False, help="also write full_train (balanced + unbalanced, ~2M)")
    parser.add_argument("--audio_dir", default=None, help="folder of the downloaded clips (default: <root>/audio)")
    return parser


def layout_error(variable: str, root, problem: str, layout: str) -> CorpusLayoutError:
    return CorpusLayoutError(
        f"{variable}={root}: {problem}. Set {variable} in db.sh or the environment to the "
        f"folder of the official release, laid out as:\n{layout}"
    )


def main(argv=None) -> Dict[str, int]:
    return run_cli(get_parser(), prepare, argv)


if __name__ == "__main__":
    main()
