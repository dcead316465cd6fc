#!/usr/bin/env python3
"""Rewrite the audio of a wav.scp as mono 16-bit PCM files (FLAC or WAV) at one sample rate.

    python scripts/format_wav_scp.py --fs 16000 --audio_format flac \\
        --audio_dir dump/raw/org/train/data/format.1 --out_wav_scp logdir/wav.1.scp --out_num_samples logdir/utt2num_samples.1 \\
        logdir/keys.1.scp

Each input line is ``<utt-id> <path>`` (any format libsndfile reads: wav, flac, ogg, ...) or
``<utt-id> <command> |`` (a shell pipe that writes such a file to stdout). Channels are
averaged, the signal is resampled with ``torchaudio.functional.resample`` and written to
``<audio_dir>/<utt-id>.<audio_format>`` (FLAC is lossless and smaller than WAV;
both decode to the same samples). The outputs are ``<utt-id> <wav path>`` and
``<utt-id> <number of samples>`` lines, in input order. The first unreadable or empty input
stops the run with an error naming its utterance id, path and line.
"""

import argparse
import io
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Sequence, Tuple

import numpy as np
import soundfile


class AudioReadError(RuntimeError):
    """An entry of wav.scp that yields no usable audio."""


def read_scp(path: Path) -> Iterator[Tuple[int, str, str]]:
    """Yield ``(line number, utt id, audio source)`` for every non-empty line of ``path``."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.strip().split(maxsplit=1)
            if not fields:
                continue
            if len(fields) == 1:
                raise AudioReadError(f"{path} line {number}: no audio path for {fields[0]!r}")
            yield number, fields[0], fields[1]


def load_mono(source: str) -> Tuple[np.ndarray, int]:
    """Decode a file path or a ``command |`` pipe.

    Returns:
        (wave, sample_rate): float32 wave of shape (T,), the mean over channels.
    """
    if source.endswith("|"):
        completed = subprocess.run(
            source[:-1], shell=True, capture_output=True, check=False
        )
        if completed.returncode != 0:
            message = completed.stderr.decode(errors="replace").strip()
            raise AudioReadError(f"the command exited with {completed.returncode}: {message}")
        data, rate = soundfile.read(io.BytesIO(completed.stdout), dtype="float32", always_2d=True)
    else:
        data, rate = soundfile.read(source, dtype="float32", always_2d=True)
    if data.shape[0] == 0:
        raise AudioReadError("the audio has no samples")
    return data.mean(axis=1), int(rate)


def to_rate(wave: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """Resample a (T,) wave to ``new_rate``; returns float32 (T * new_rate / orig_rate,)."""
    if orig_rate == new_rate:
        return wave.astype(np.float32, copy=False)
    # Imported on first use: a job whose files are all at new_rate never pays torch's import.
    import torch
    import torchaudio

    resampled = torchaudio.functional.resample(
        torch.from_numpy(np.ascontiguousarray(wave)), orig_rate, new_rate
    )
    return resampled.numpy()


AUDIO_FORMATS = {"flac": "FLAC", "wav": "WAV"}  # --audio_format -> libsndfile format


def format_one(source: str, fs: int, out_path: Path, audio_format: str = "wav") -> int:
    """Write ``source`` as mono 16-bit PCM (``audio_format``) at ``fs`` Hz; returns its samples."""
    wave, rate = load_mono(source)
    wave = np.clip(to_rate(wave, rate, fs), -1.0, 1.0)
    soundfile.write(out_path, wave, fs, subtype="PCM_16", format=AUDIO_FORMATS[audio_format])
    return int(wave.shape[0])


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("wav_scp", type=Path, help="input <utt-id> <path or pipe> list")
    parser.add_argument("--fs", type=int, required=True, help="output sample rate in Hz")
    parser.add_argument("--audio_format", choices=sorted(AUDIO_FORMATS), default="wav",
                        help="file format of the written audio (16-bit PCM either way)")
    parser.add_argument("--audio_dir", type=Path, required=True, help="where the audio files go")
    parser.add_argument("--out_wav_scp", type=Path, required=True,
                        help="output list: <utt-id> <written file>")
    parser.add_argument("--out_num_samples", type=Path, required=True,
                        help="output list: <utt-id> <number of samples>")
    args = parser.parse_args(argv)
    if args.fs <= 0:
        parser.error(f"--fs must be positive, got {args.fs}")

    args.audio_dir.mkdir(parents=True, exist_ok=True)
    scp_lines, count_lines = [], []
    try:
        for number, utt_id, source in read_scp(args.wav_scp):
            if "/" in utt_id:
                raise AudioReadError(f"{args.wav_scp} line {number}: utterance id "
                                     f"{utt_id!r} contains '/', which cannot be a file name")
            out_path = args.audio_dir / f"{utt_id}.{args.audio_format}"
            try:
                num_samples = format_one(source, args.fs, out_path, args.audio_format)
            except Exception as err:  # libsndfile and torchaudio raise several types
                raise AudioReadError(
                    f"cannot format utterance {utt_id!r} from {source!r} "
                    f"({args.wav_scp} line {number}): {err}"
                ) from err
            scp_lines.append(f"{utt_id} {out_path}\n")
            count_lines.append(f"{utt_id} {num_samples}\n")
    except AudioReadError as err:
        print(f"format_wav_scp.py: error: {err}", file=sys.stderr)
        return 1
    args.out_wav_scp.write_text("".join(scp_lines), encoding="utf-8")
    args.out_num_samples.write_text("".join(count_lines), encoding="utf-8")
    print(f"format_wav_scp.py: wrote {len(scp_lines)} {args.audio_format} files at {args.fs} Hz "
          f"to {args.audio_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
