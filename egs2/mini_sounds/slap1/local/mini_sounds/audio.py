"""Waveform helpers: every source ends up as a 16 kHz mono float32 array of shape (T,)."""

import os
from pathlib import Path
from typing import BinaryIO, Tuple, Union

import numpy as np
import soundfile as sf

from mini_sounds import SAMPLE_RATE

SILENCE_PEAK = 1e-4  # a recording whose peak stays below this is treated as silent


class AudioError(ValueError):
    """A source file that cannot be decoded or holds no usable sound."""


def read_mono(path: Union[str, BinaryIO]) -> Tuple[np.ndarray, int]:
    """Decode any libsndfile format (wav, flac, ogg/vorbis) to mono, from a path or file object.

    Returns:
        (wave, sample_rate): wave is float32 of shape (T,), the mean of all channels.
    """
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except Exception as err:  # libsndfile raises several types for broken files
        raise AudioError(f"cannot decode {path}: {err}") from err
    if data.shape[0] == 0:
        raise AudioError(f"{path} holds no samples")
    return data.mean(axis=1), int(rate)


def resample(wave: np.ndarray, orig_rate: int, new_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited sinc resampling of a (T,) waveform; returns float32 (T * new / orig,)."""
    if orig_rate == new_rate:
        return wave.astype(np.float32, copy=False)
    import torch  # imported here so that clip rendering workers need not load torch
    import torchaudio

    tensor = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
    return torchaudio.functional.resample(tensor, orig_rate, new_rate).numpy()


def trim_silence(
    wave: np.ndarray, rate: int, threshold_db: float = -45.0, margin_s: float = 0.03
) -> np.ndarray:
    """Cut leading and trailing stretches quieter than ``threshold_db`` below the peak.

    Works on 10 ms frames; keeps ``margin_s`` of the quiet part on each side.
    """
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    if peak < SILENCE_PEAK:
        return wave[:0]
    frame = max(1, rate // 100)
    n_frames = int(np.ceil(wave.size / frame))
    padded = np.pad(np.abs(wave), (0, n_frames * frame - wave.size))
    loud = padded.reshape(n_frames, frame).max(axis=1) > peak * 10 ** (threshold_db / 20)
    first, last = np.flatnonzero(loud)[[0, -1]]
    margin = int(margin_s * rate)
    return wave[max(0, first * frame - margin) : min(wave.size, (last + 1) * frame + margin)]


def crop_with_fade(wave: np.ndarray, rate: int, max_seconds: float, fade_s: float = 0.05):
    """Keep the first ``max_seconds`` of a (T,) wave, fading the cut end out linearly."""
    limit = int(max_seconds * rate)
    if wave.size <= limit:
        return wave
    out = wave[:limit].copy()
    fade = min(limit, int(fade_s * rate))
    out[limit - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out


def peak_normalise(wave: np.ndarray, peak: float) -> np.ndarray:
    """Scale a (T,) wave so that its largest absolute sample equals ``peak``."""
    current = float(np.abs(wave).max())
    if current < SILENCE_PEAK:
        raise AudioError("cannot normalise a silent waveform")
    return (wave * (peak / current)).astype(np.float32)


def to_pcm16(wave: np.ndarray) -> np.ndarray:
    """Float (T,) in [-1, 1] to int16 (T,), clipping anything outside."""
    return np.round(np.clip(wave, -1.0, 1.0) * 32767.0).astype(np.int16)


def write_wav(path: Path, wave: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """Write a (T,) float wave as mono PCM16 WAV; the file appears only when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    sf.write(str(partial), to_pcm16(wave), rate, subtype="PCM_16", format="WAV")
    os.replace(partial, path)
