"""Miniature copies of the benchmark corpora's official layouts, with generated audio.

Each builder writes the real metadata file names and columns plus the awkward cases of its
corpus, and returns what a correct preparation must find (hand-counted).
"""

import csv
import zlib
from pathlib import Path
from typing import Dict

import numpy as np
import soundfile


def tone(path: Path, seconds: float = 0.4, rate: int = 16000, freq: float = 440.0,
         channels: int = 1, subtype: str = "PCM_16", audio_format: str = None) -> Path:
    """A short sine (with a little noise) written with soundfile."""
    rng = np.random.default_rng(zlib.crc32(f"{path.name} {freq}".encode()))
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(t.size)
    if channels > 1:
        wave = np.stack([wave] * channels, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, wave.astype(np.float32), rate, subtype=subtype, format=audio_format)
    return path


def write_csv(path: Path, header, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def esc50(root: Path) -> Dict:
    """``ESC-50-master/`` with 3 classes, 2 folds; one metadata row has no audio file."""
    release = root / "ESC-50-master"
    rows = [
        ("1-100032-A-0.wav", 1, 0, "dog", "True", 100032, "A"),
        ("1-110389-A-0.wav", 1, 0, "dog", "True", 110389, "A"),
        ("2-100648-A-14.wav", 2, 14, "chirping_birds", "False", 100648, "A"),
        ("1-115545-B-14.wav", 1, 14, "chirping_birds", "False", 115545, "B"),
        ("2-102414-C-30.wav", 2, 30, "door_wood_knock", "False", 102414, "C"),
        ("2-102414-D-30.wav", 2, 30, "door_wood_knock", "False", 102414, "D"),  # no audio file
    ]
    write_csv(release / "meta" / "esc50.csv",
              ["filename", "fold", "target", "category", "esc10", "src_file", "take"], rows)
    for i, row in enumerate(rows[:-1]):
        tone(release / "audio" / row[0], seconds=0.5, rate=44100, freq=300 + 200 * row[2] + 10 * i)
    return dict(root=release, clips=5, classes=["chirping birds", "dog", "door wood knock"],
                folds={"1": 3, "2": 2})


def urbansound8k(root: Path) -> Dict:
    """``UrbanSound8K/`` with mixed rates, channels and bit depths over two folds."""
    release = root / "UrbanSound8K"
    rows = [
        ("100032-3-0-0.wav", 100032, 0.0, 0.3, 1, 1, 3, "dog_bark", dict(rate=44100, channels=2)),
        ("100263-2-0-117.wav", 100263, 58.5, 62.5, 1, 2, 2, "children_playing", dict(rate=48000, subtype="PCM_24")),
        ("100648-1-0-0.wav", 100648, 4.8, 5.2, 2, 2, 1, "car_horn", dict(rate=22050, subtype="PCM_U8")),
        ("101729-0-0-1.wav", 101729, 0.5, 0.9, 2, 1, 0, "air_conditioner", dict(rate=8000)),
    ]
    write_csv(release / "metadata" / "UrbanSound8K.csv",
              ["slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class"],
              [row[:8] for row in rows])
    for row in rows:
        tone(release / "audio" / f"fold{row[5]}" / row[0], seconds=0.4, freq=200 + 150 * row[6], **row[8])
    return dict(root=release, clips=4, classes=["air conditioner", "car horn", "children playing", "dog bark"],
                folds={"1": 2, "2": 2})


def gtzan(root: Path, audio_format: str = "wav") -> Dict:
    """GTZAN with 3 genres x 2 clips; the WAV copy's ``jazz.00054.wav`` is unreadable."""
    folder, suffix = ("genres_original", ".wav") if audio_format == "wav" else ("genres", ".au")
    clips = 0
    for k, genre in enumerate(("blues", "hiphop", "jazz")):
        for n in range(2):
            tone(root / folder / genre / f"{genre}.{n:05d}{suffix}", seconds=0.6, rate=22050,
                 freq=250 + 180 * k + 20 * n, audio_format=None if suffix == ".wav" else "AU")
            clips += 1
    if audio_format == "wav":
        (root / folder / "jazz" / "jazz.00054.wav").write_bytes(b"RIFF\x00\x00garbage, not a wave file")
    return dict(root=root, clips=clips, classes=["blues", "hip hop", "jazz"])


def cremad(root: Path) -> Dict:
    """``AudioWAV/`` with 4 emotions, the one-letter level name, an empty file, a Git LFS
    pointer and a file of another name pattern."""
    names = {
        "1001_DFA_ANG_XX.wav": 220, "1001_DFA_HAP_HI.wav": 330, "1002_IEO_NEU_LO.wav": 440,
        "1040_ITH_SAD_X.wav": 550, "1002_IEO_ANG_MD.wav": 240,
    }
    audio = root / "AudioWAV"
    for name, freq in names.items():
        tone(audio / name, seconds=0.5, freq=freq)
    (audio / "1076_MTI_NEU_XX.wav").write_bytes(b"")  # empty in the release
    (audio / "1003_DFA_FEA_XX.wav").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 72862\n")
    tone(audio / "notes.wav", seconds=0.2)
    return dict(root=root, clips=5, classes=["angry", "happy", "neutral", "sad"],
                speakers={"cremad-1001": 2, "cremad-1002": 2, "cremad-1040": 1})


def ravdess(root: Path) -> Dict:
    """``Actor_01``/``Actor_02`` with speech, song and full-AV files; only speech counts."""
    speech = ["03-01-01-01-01-01-01", "03-01-05-02-01-01-01", "03-01-08-01-02-02-01",
              "03-01-02-01-01-01-02", "03-01-05-01-02-01-02"]
    for k, stem in enumerate(speech):
        tone(root / f"Actor_{stem[-2:]}" / f"{stem}.wav", seconds=0.5, rate=48000, freq=200 + 90 * k)
    tone(root / "Actor_01" / "03-02-03-01-01-01-01.wav", seconds=0.3, rate=48000)  # song
    tone(root / "Actor_02" / "01-01-03-01-01-01-02.wav", seconds=0.3, rate=48000)  # full-AV
    (root / "Actor_02" / "02-01-03-01-01-01-02.mp4").write_bytes(b"video")
    return dict(root=root, clips=5, classes=["angry", "calm", "neutral", "surprised"],
                speakers={"ravdess-01": 3, "ravdess-02": 2})


def librispeech(root: Path) -> Dict:
    """``LibriSpeech/test-clean`` (3 utterances, one transcript line without audio) and
    ``test-other`` (2 utterances)."""
    sets = {
        "test-clean": {"1089-134686": ["HE HOPED THERE WOULD BE STEW FOR DINNER",
                                       "STUFF IT INTO YOU HIS BELLY COUNSELLED HIM",
                                       "AFTER EARLY NIGHTFALL THE YELLOW LAMPS WOULD LIGHT UP"],
                       "121-121726": ["ALSO A POPULAR CONTRIVANCE"]},
        "test-other": {"1688-142285": ["THERE'S IRON THEY SAY IN ALL OUR BLOOD",
                                       "AND A GRAIN OR TWO PERHAPS IS GOOD"]},
    }
    base = root / "LibriSpeech"
    for subset, chapters in sets.items():
        for chapter, lines in chapters.items():
            speaker, chapter_id = chapter.split("-")
            folder = base / subset / speaker / chapter_id
            folder.mkdir(parents=True, exist_ok=True)
            transcript = []
            for i, text in enumerate(lines):
                utt = f"{chapter}-{i:04d}"
                transcript.append(f"{utt} {text}")
                if chapter != "121-121726":  # its audio is missing
                    tone(folder / f"{utt}.flac", seconds=0.5, freq=200 + 40 * i + 7 * len(text))
            (folder / f"{chapter}.trans.txt").write_text("\n".join(transcript) + "\n")
    return dict(root=base, clips={"librispeech_test_clean": 3, "librispeech_test_other": 2},
                first_caption=("librispeech-1089-134686-0000", "he hoped there would be stew for dinner"))


def clotho(root: Path) -> Dict:
    """Clotho v2.1 evaluation split in the Zenodo layout; a file name with spaces and commas."""
    names = ["Forest ambience, birds.wav", "rain on a tin roof.wav", "door_creak_01.wav"]
    rows = []
    for k, name in enumerate(names):
        tone(root / "evaluation" / name, seconds=0.7, rate=44100, freq=260 + 170 * k)
        rows.append([name] + [f"caption {c} of clip {k} with a {['bird', 'rain', 'door'][k]}" for c in range(5)])
    write_csv(root / "clotho_captions_evaluation.csv", ["file_name"] + [f"caption_{i}" for i in range(1, 6)], rows)
    return dict(root=root, clips=3, captions=15)


def audiocaps(root: Path) -> Dict:
    """AudioCaps ``dataset/test.csv`` (5 captions per clip) with audio for 2 of 3 clips."""
    clips = [("7fmOlUlwoNg", 20, "a dog barks"), ("6BJ455B1aAs", 0, "a bell rings"), ("GOD8Bt5LfDE", 100, "an engine")]
    rows, audio_id = [], 100
    for youtube_id, start, what in clips:
        for c in range(5):
            rows.append([audio_id, youtube_id, start, f"{what} while something else happens {c}"])
            audio_id += 1
    write_csv(root / "dataset" / "test.csv", ["audiocap_id", "youtube_id", "start_time", "caption"], rows)
    for k, (youtube_id, start, _) in enumerate(clips[:2]):
        tone(root / "audio" / "test" / f"{youtube_id}_{start}.flac", seconds=0.8, rate=32000, freq=300 + 200 * k)
    return dict(root=root, clips=2, captions=10)


BUILDERS = {
    "ESC50": esc50, "US8K": urbansound8k, "GTZAN": gtzan, "CREMAD": cremad, "RAVDESS": ravdess,
    "LIBRISPEECH": librispeech, "CLOTHO": clotho, "AUDIOCAPS": audiocaps,
}


def all_corpora(root: Path) -> Dict[str, Path]:
    """Every miniature under ``root``: db.sh variable -> the path it should hold."""
    paths = {}
    for variable, build in BUILDERS.items():
        paths[variable] = Path(build(root / variable.lower())["root"])
    return paths
