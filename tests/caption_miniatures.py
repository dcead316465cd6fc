"""Miniature copies of the Clotho, AudioCaps and WavCaps releases, with the awkward cases.

Each builder writes the real metadata file names and columns and a few clips of generated
audio, and returns what a correct preparation must give (hand-counted below). Shared by
test_corpora_captions.py and test_caption_recipes.py.
"""

import csv
import json
from pathlib import Path
from typing import Dict, List

import numpy as np
import soundfile


def tone(path: Path, seconds: float, rate: int = 16000, freq: float = 440.0) -> None:
    """A quiet tone with a little noise, written as WAV or FLAC (by suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(int(freq))
    wave = 0.2 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(t.size)
    soundfile.write(path, wave.astype(np.float32), rate)


def five(stem: str) -> List[str]:
    return [f"{stem} caption {k}, with a comma" for k in range(1, 6)]


# ------------------------------------------------------------------------------ Clotho
# split -> file names in the captions CSV; every one has audio except MISSING. Like three
# files of the real development split, " leading space.wav" begins with a space, in the CSV
# and on disk alike.
CLOTHO_LEADING_SPACE = " leading space.wav"
CLOTHO_ROWS = {
    "development": ["Rain, on a roof 2.wav", "Rain on a roof 2.wav", "birds at dawn.wav",
                    CLOTHO_LEADING_SPACE],
    "validation": ["door, creaking.wav", "wind.wav"],
    "evaluation": ["stream, small.wav", "traffic.wav", "gone.wav"],
}
CLOTHO_MISSING = {"gone.wav"}
# clips / captions a correct preparation writes per set (4 + 2 + 2 clips, 5 captions each)
CLOTHO_EXPECTED = {"clotho_development": (4, 20), "clotho_validation": (2, 10),
                   "clotho_evaluation": (2, 10)}


def build_clotho(root: Path, layout: str = "zenodo") -> Path:
    """Clotho v2.1 as Zenodo unpacks it (``zenodo``) or as aac-datasets lays it out (``aac``)."""
    release = root if layout == "zenodo" else root / "CLOTHO_v2.1"
    csv_dir = release if layout == "zenodo" else release / "clotho_csv_files"
    csv_dir.mkdir(parents=True, exist_ok=True)
    for index, (split, names) in enumerate(CLOTHO_ROWS.items()):
        audio_dir = release / split if layout == "zenodo" else release / "clotho_audio_files" / split
        with open(csv_dir / f"clotho_captions_{split}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["file_name"] + [f"caption_{k}" for k in range(1, 6)])
            for n, name in enumerate(names):
                writer.writerow([name] + five(Path(name).stem))
                if name not in CLOTHO_MISSING:
                    tone(audio_dir / name, 1.0 + 0.5 * (n % 3), 44100 if n == 0 else 16000,
                         300 + 100 * n + 10 * index)
        # the release's audio folder may hold a file the CSV does not list (dev: 3840 vs 3839)
        tone(audio_dir / "not listed.wav", 1.0)
    return root


# ------------------------------------------------------------------------------ AudioCaps
# rows (audiocap_id, youtube_id, start_time, caption) of the three CSVs
AUDIOCAPS_ROWS = {
    "train": [(1, "aaaaaaaaaaa", 30, "a dog barks"), (2, "bbbbbbbbbbb", 0, "rain falls"),
              (3, "ccccccccccc", 10, "a car passes"), (4, "aaaaaaaaaaa", 30, "a dog barks loudly")],
    "val": [(10 + k, "ddddddddddd", 20, c) for k, c in enumerate(five("door"))]
    + [(20 + k, "-eeeeeeeeee", 0, c) for k, c in enumerate(five("wind"))],
    "test": [(30 + k, "fffffffffff", 40, c) for k, c in enumerate(five("stream"))],
}
# ccccccccccc was never fetched from YouTube; the others exist under various names
AUDIOCAPS_FILES = ["audio/train/aaaaaaaaaaa_30.flac", "audio/train/Ybbbbbbbbbbb.wav",
                   "audio/val/ddddddddddd_20.wav", "audio/Y-eeeeeeeeee.flac",
                   "audio/test/fffffffffff_40.flac"]
# train: aaa has two captions (rows 1 and 4), bbb one, ccc is missing
AUDIOCAPS_EXPECTED = {"audiocaps_train": (2, 3), "audiocaps_val": (2, 10),
                      "audiocaps_test": (1, 5)}


def write_audiocaps_csvs(folder: Path, rows_of=None) -> None:
    """``{train,val,test}.csv`` of ``rows_of`` (default :data:`AUDIOCAPS_ROWS`) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in (rows_of or AUDIOCAPS_ROWS).items():
        with open(folder / f"{split}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["audiocap_id", "youtube_id", "start_time", "caption"])
            writer.writerows(rows)


def build_audiocaps(root: Path) -> Path:
    """The authors' ``dataset/{train,val,test}.csv`` and a partial audio download."""
    write_audiocaps_csvs(root / "dataset")
    for n, name in enumerate(AUDIOCAPS_FILES):
        tone(root / name, 1.0 + 0.5 * (n % 3), 32000 if name.endswith(".flac") else 16000,
             350 + 70 * n)
    return root


def build_audiocaps_aac(root: Path, version: str = "0.6") -> Path:
    """AudioCaps as aac-datasets downloads it below ``root``: ``AUDIOCAPS/csv_files_v1/``
    (0.6 and later) or ``AUDIOCAPS/`` (0.5 and earlier) and
    ``AUDIOCAPS/audio_32000Hz/<split>/{youtube_id}_{start_time}.flac`` for every clip but
    ccccccccccc (so the counts are :data:`AUDIOCAPS_EXPECTED`)."""
    base = root / "AUDIOCAPS"
    write_audiocaps_csvs(base / "csv_files_v1" if version == "0.6" else base)
    for split, rows in AUDIOCAPS_ROWS.items():
        clips = dict.fromkeys((youtube_id, start) for _, youtube_id, start, _ in rows)
        for n, (youtube_id, start) in enumerate(clips):
            if youtube_id == "ccccccccccc":
                continue
            tone(base / "audio_32000Hz" / split / f"{youtube_id}_{start}.flac", 1.0, 32000,
                 300 + 40 * n)
    return root


def build_audiocaps_download(root: Path, ext: str = ".ogg") -> Path:
    """AudioCaps as the audiocaps-download tool leaves it: a clone of the authors' repository
    (``dataset/``, and ``dataset2.0/`` whose CSVs must not be read) and one file per caption
    row, ``<split>/<audiocap_id><ext>``. Not every row was fetched: the val clip
    ddddddddddd has only row 12's file, train's ccccccccccc none (counts as
    :data:`AUDIOCAPS_EXPECTED`)."""
    write_audiocaps_csvs(root / "dataset")
    write_audiocaps_csvs(root / "dataset2.0", {
        split: [(900 + k, "zzzzzzzzzzz", 0, "audiocaps 2.0 row") for k in range(2)]
        for split in AUDIOCAPS_ROWS})
    for split, rows in AUDIOCAPS_ROWS.items():
        for n, (audiocap_id, youtube_id, _, _) in enumerate(rows):
            if youtube_id == "ccccccccccc" or (youtube_id == "ddddddddddd" and audiocap_id != 12):
                continue
            tone(root / split / f"{audiocap_id}{ext}", 1.0, 16000, 300 + 40 * n)
    return root


# ------------------------------------------------------------------------------ WavCaps
# source -> (JSON file, audio folder, items as (id, seconds or None=absent))
WAVCAPS_SOURCES = {
    "AudioSet_SL": ("as_final.json", "AudioSet_SL",
                    [("Yas1.wav", 2.0), ("Yasblack.wav", 1.0), ("Yastrain.wav", 1.0)]),
    "BBC_Sound_Effects": ("bbc_final.json", "BBC_Sound_Effects_flac", [("07011001", 1.5)]),
    "FreeSound": ("fsd_final.json", "FreeSound", [("101", 31.0), ("102", 1.0), ("103", None)]),
    "SoundBible": ("sb_final.json", "SoundBible", [("2219", 1.2)]),
}
# the WavCaps repository's three lists: Yasblack is an AudioCaps test clip and 102 a Clotho
# evaluation clip (both lists), Yastrain an AudioCaps train clip (exclude_all_ac only)
WAVCAPS_BLACKLISTS = {
    "blacklist_exclude_test_ac.json": {"AudioSet": ["Yasblack.wav", "Not found"],
                                       "FreeSound": ["102"]},
    "blacklist_exclude_all_ac.json": {"AudioSet": ["Yasblack.wav", "Yastrain.wav"],
                                      "FreeSound": ["102"]},
    "blacklist_exclude_ub8k_esc50_vggsound.json": {"AudioSet": ["Ynot_in_wavcaps.wav"],
                                                   "FreeSound": ["999"]},
}
# as: Yas1 (Yasblack, Yastrain blacklisted by "all"); bbc: 1; fsd: 101 (31 s, kept; 102
# blacklisted; 103 has no FLAC); sb: 1
WAVCAPS_EXPECTED = {"wavcaps": (4, 4)}
WAVCAPS_LONG_UTT = "wavcaps-fsd-101"
# where the zips put the FLACs when unpacked in place, below the folder they are unzipped in
WAVCAPS_UNZIPPED = Path("mnt/fast/nobackup/scratch4weeks/xm00178/WavCaps/data/waveforms")


def build_wavcaps(root: Path, layout: str = "flat") -> Path:
    """``json_files/`` of the four sources and the three blacklists, and per-source FLACs.

    ``layout``: ``flat`` (one folder per source under the root, named as in
    :data:`WAVCAPS_SOURCES`), ``unzipped`` (the zips unpacked in place in the root:
    ``mnt/.../waveforms/<Source>_flac/``) or ``elsewhere`` (each zip unpacked in its own folder
    ``Zip_files/<Source>/unpacked/``, so only a search below the root finds them).
    """
    for n, (source, (metadata, audio_folder, items)) in enumerate(WAVCAPS_SOURCES.items()):
        data = [{"id": clip_id, "caption": f"{source} clip {clip_id} sounds.",
                 "duration": seconds or 1.0, "audio": f"waveforms/{clip_id}",
                 "description": "raw text"} for clip_id, seconds in items]
        content = data if source == "SoundBible" else {"num_captions_per_audio": 1, "data": data}
        path = root / "json_files" / source / metadata
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content), encoding="utf-8")
        folder = {"flat": root / audio_folder,
                  "unzipped": root / WAVCAPS_UNZIPPED / f"{source}_flac",
                  "elsewhere": root / "Zip_files" / source / "unpacked" / WAVCAPS_UNZIPPED
                  / f"{source}_flac"}[layout]
        for k, (clip_id, seconds) in enumerate(items):
            if seconds is None:
                continue
            name = clip_id.replace(".wav", ".flac") if source == "AudioSet_SL" else f"{clip_id}.flac"
            tone(folder / name, seconds, 8000 if seconds > 30 else 32000, 200 + 90 * n + 30 * k)
    for name, content in WAVCAPS_BLACKLISTS.items():
        blacklist = root / "json_files" / "blacklist" / name
        blacklist.parent.mkdir(parents=True, exist_ok=True)
        blacklist.write_text(json.dumps(content), encoding="utf-8")
    return root


# ------------------------------------------------------------------------------ reading
def read_table(path: Path) -> Dict[str, str]:
    """``utt rest`` lines as a dict (one line per utterance)."""
    return dict(line.split(" ", 1) for line in path.read_text(encoding="utf-8").splitlines())


def counts(data_dir: Path):
    """(clips, captions) of a data dir: wav.scp lines, text_refs lines."""
    clips = len((data_dir / "wav.scp").read_text(encoding="utf-8").splitlines())
    captions = len((data_dir / "text_refs").read_text(encoding="utf-8").splitlines())
    return clips, captions
