"""Down-mixing to mono, shared by the data loader and the inference API."""

import numpy as np


class AudioInputError(ValueError):
    """An input that cannot be turned into a waveform; the message names the input."""


def to_mono(wave: np.ndarray, channel_axis: int, name: str) -> np.ndarray:
    """``(T,)`` or 2-D samples -> ``(T,)`` float32, the mean over ``channel_axis``.

    Raises:
        AudioInputError: more than 2 dimensions, no samples, or NaN/inf samples.
    """
    wave = np.asarray(wave)
    if wave.ndim == 2:
        wave = wave.mean(axis=channel_axis)
    elif wave.ndim != 1:
        raise AudioInputError(f"{name}: expected (T,) or 2-D audio, got shape {wave.shape}")
    wave = wave.astype(np.float32, copy=False)
    if wave.size == 0:
        raise AudioInputError(f"{name}: empty audio")
    if not np.isfinite(wave).all():
        raise AudioInputError(f"{name}: audio has NaN or inf samples")
    return wave
