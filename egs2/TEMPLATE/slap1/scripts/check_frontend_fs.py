#!/usr/bin/env python3
"""Check that the training config's frontend, ``--fs`` and the dumped audio agree on a rate.

    python scripts/check_frontend_fs.py --config conf/train.yaml --fs 16000 \\
        --wav_scp dump/raw/train/wav.scp

Prints the options slap.sh adds to ``slap_train`` (``--frontend_conf fs=<fs>`` when the config
leaves the frontend's rate unset, as ESPnet's recipes pass it; nothing when the config sets
it). Exits 1 with a message naming the file and key when the config's ``frontend_conf.fs``,
``--fs`` or the sample rate of the first dumped file differ: a frontend computing 16 kHz
filterbanks on 8 kHz audio trains without an error and learns nothing useful.
"""

import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence

import humanfriendly
import soundfile
import yaml

# Frontends whose constructor takes ``fs`` (ESPnet's DefaultFrontend, the config default).
FRONTENDS_WITH_FS = ("default",)


def parse_rate(value) -> int:
    """``16000``, ``"16000"`` or ``"16k"`` -> 16000."""
    return int(humanfriendly.parse_size(str(value)))


def first_audio_rate(wav_scp: Path) -> int:
    """Sample rate of the first file listed in a formatted ``wav.scp``."""
    with wav_scp.open(encoding="utf-8") as f:
        fields = f.readline().split(maxsplit=1)
    if len(fields) != 2:
        raise ValueError(f"{wav_scp}: the first line is not '<utt-id> <path>'")
    return soundfile.info(fields[1].strip()).samplerate


def frontend_options(config: dict, config_path: str, fs: int, dump_rate: Optional[int]) -> List[str]:
    """The ``slap_train`` options that make the frontend run at ``fs``; raises on a mismatch."""
    if dump_rate is not None and dump_rate != fs:
        raise ValueError(
            f"the dumped audio is at {dump_rate} Hz but --fs is {fs} Hz: run stages 2-3 again "
            f"with this --fs, or give --fs {dump_rate}"
        )
    frontend = config.get("frontend", "default")
    frontend_conf = config.get("frontend_conf") or {}
    if "fs" in frontend_conf:
        config_rate = parse_rate(frontend_conf["fs"])
        if config_rate != fs:
            raise ValueError(
                f"{config_path}: frontend_conf.fs is {config_rate} Hz but the audio is "
                f"formatted at {fs} Hz (--fs): set frontend_conf.fs to {fs} (and its window "
                f"and hop lengths in samples) or format the audio at {config_rate} Hz"
            )
        return []
    if frontend in FRONTENDS_WITH_FS:
        return ["--frontend_conf", f"fs={fs}"]
    return []


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="training YAML (--train_config)")
    parser.add_argument("--fs", required=True, help="rate of the formatted audio, e.g. 16k or 16000")
    parser.add_argument("--wav_scp", type=Path, help="a formatted wav.scp whose first file is checked")
    args = parser.parse_args(argv)
    try:
        with open(args.config, encoding="utf-8") as f:
            config = yaml.safe_load(f) or {}
        dump_rate = first_audio_rate(args.wav_scp) if args.wav_scp is not None else None
        options = frontend_options(config, args.config, parse_rate(args.fs), dump_rate)
    except (OSError, ValueError, RuntimeError, humanfriendly.InvalidSize) as err:
        print(f"check_frontend_fs.py: error: {err}", file=sys.stderr)
        return 1
    print(" ".join(options))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
