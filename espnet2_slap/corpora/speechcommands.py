"""Speech Commands v2 (Warden 2018): keyword classification, 35 words or the 12-class task.

    python -m espnet2_slap.corpora.speechcommands --root /data/speech_commands_v0.02 --out_dir data

The release unpacks as ``<word>/<speaker>_nohash_<n>.wav`` (35 word folders),
``validation_list.txt`` and ``testing_list.txt`` (paths ``<word>/<file>.wav``, one per line)
and ``_background_noise_/*.wav``. The official split: a clip listed in ``testing_list.txt``
is a test clip, in ``validation_list.txt`` a validation clip, any other a training clip.

``--protocol 35`` (default) writes ``train``, ``valid`` and ``test`` labelled by the word.
``--protocol 12`` keeps the ten commands (yes no up down left right on off stop go), labels
every other word ``_unknown_`` and adds ``_silence_`` clips: 1 s windows of the background
noise recordings, written as WAV files under ``<out_dir>/sc12_silence/`` and dealt to
train / valid / test 8 : 1 : 1 by window index. With ``--test_root`` (the separate
``speech_commands_test_set_v0.02`` archive: ``<label>/*.wav`` with ``_unknown_`` and
``_silence_`` folders) the 12-class test set is read from it instead of the list.
"""

import argparse
import sys
from pathlib import Path
from typing import Dict, List, Optional

import soundfile

from espnet2_slap.corpora.caption_sets import run_cli
from espnet2_slap.corpora.sources import note_file
from espnet2_slap.corpora.kaldi_dir import (
    Clip,
    CorpusLayoutError,
    check_layout,
    make_utt_id,
    write_data_dir,
)

VARIABLE = "SPEECHCOMMANDS"
NOISE_DIR = "_background_noise_"
COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN, SILENCE = "_unknown_", "_silence_"
LAYOUT = """  speech_commands_v0.02/             <- SPEECHCOMMANDS points here
    validation_list.txt  testing_list.txt   (lines like 'right/bb05582b_nohash_3.wav')
    _background_noise_/*.wav
    yes/<speaker>_nohash_<n>.wav ... (35 word folders)"""


def read_list(path: Path) -> set:
    """Relative paths (``word/file.wav``) listed in an official list file."""
    note_file(path)
    return {line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def word_clips(release: Path) -> Dict[str, List[Clip]]:
    """``{"train" | "valid" | "test": clips}`` of the 35 words by the official lists."""
    valid, test = read_list(release / "validation_list.txt"), read_list(release / "testing_list.txt")
    words = sorted(p.name for p in release.iterdir() if p.is_dir() and not p.name.startswith("_"))
    if not words:
        raise CorpusLayoutError(f"{VARIABLE}={release}: no word folders. Set {VARIABLE} in db.sh ... expected layout:\n{LAYOUT}")
    sets: Dict[str, List[Clip]] = {"train": [], "valid": [], "test": []}
    for word in words:
        for path in sorted((release / word).glob("*.wav")):
            relative = f"{word}/{path.name}"
            name = "test" if relative in test else "valid" if relative in valid else "train"
            speaker = path.stem.split("_nohash_")[0]
            sets[name].append(Clip(make_utt_id("sc", f"{word}_{path.stem}"), path, labels=[word], speaker=None,
                                   extra={"utt2speaker": speaker}))
    listed = len(valid) + len(test)
    found = len(sets["valid"]) + len(sets["test"])
    if found < listed:
        print(f"speechcommands: {listed - found} listed validation/test clips have no file", file=sys.stderr)
    return sets


def to_12_classes(clip: Clip) -> Clip:
    word = clip.labels[0]
    clip.labels = [word if word in COMMANDS else UNKNOWN]
    return clip


def silence_clips(release: Path, out_dir: Path, fs: int = 16000) -> Dict[str, List[Clip]]:
    """1 s windows of the background noise files, written as WAVs, dealt 8:1:1 by index."""
    sets: Dict[str, List[Clip]] = {"train": [], "valid": [], "test": []}
    folder = out_dir / "sc12_silence"
    folder.mkdir(parents=True, exist_ok=True)
    for noise in sorted((release / NOISE_DIR).glob("*.wav")):
        audio, rate = soundfile.read(noise, dtype="float32")
        if audio.ndim > 1:
            audio = audio.mean(axis=1)
        for window in range(len(audio) // rate):
            path = folder / f"{noise.stem}_{window:04d}.wav"
            soundfile.write(path, audio[window * rate:(window + 1) * rate], rate)
            name = {8: "valid", 9: "test"}.get(window % 10, "train")
            sets[name].append(Clip(make_utt_id("sc", f"silence_{noise.stem}_{window:04d}"), path, labels=[SILENCE]))
    return sets


def test_set_12(test_root: Path) -> List[Clip]:
    """The separate 12-class test archive: ``<label>/*.wav``."""
    clips = []
    for folder in sorted(p for p in test_root.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.wav")):
            clips.append(Clip(make_utt_id("sc12test", f"{folder.name}_{path.stem}"), path, labels=[folder.name]))
    if not clips:
        raise CorpusLayoutError(f"--test_root {test_root}: no <label>/*.wav clips (the speech_commands_test_set_v0.02 archive)")
    return clips


def prepare(root: Optional[str], out_dir: str, protocol: str = "35", test_root: Optional[str] = None) -> Dict[str, int]:
    """Write ``<out_dir>/{train,valid,test}`` (``sc12_`` prefix for 12 classes); clips per set."""
    release = check_layout(VARIABLE, root, ["validation_list.txt", "testing_list.txt"], LAYOUT)
    out = Path(out_dir)
    sets = word_clips(release)
    prefix = ""
    if protocol == "12":
        prefix = "sc12_"
        silence = silence_clips(release, out) if (release / NOISE_DIR).is_dir() else {k: [] for k in sets}
        sets = {k: [to_12_classes(c) for c in clips] + silence[k] for k, clips in sets.items()}
        if test_root:
            sets["test"] = test_set_12(Path(test_root))
    elif protocol != "35":
        raise ValueError(f"--protocol must be 35 or 12, got {protocol!r}")
    labels = sorted({label for clips in sets.values() for clip in clips for label in clip.labels})
    return {prefix + name: write_data_dir(out / (prefix + name), clips, labels=labels) for name, clips in sets.items()}


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Prepare Speech Commands v2 (35 words or 12 classes)")
    parser.add_argument("--root", required=True, help="the speech_commands_v0.02 folder (SPEECHCOMMANDS)")
    parser.add_argument("--out_dir", required=True, help="data dirs are written under it")
    parser.add_argument("--protocol", choices=["35", "12"], default="35", help="35 words, or 10 commands + unknown + silence")
    parser.add_argument("--test_root", default=None, help="12 classes: the separate test archive (speech_commands_test_set_v0.02)")
    return parser


def main(argv=None) -> Dict[str, int]:
    return run_cli(get_parser(), prepare, argv)


if __name__ == "__main__":
    main()
