"""Turn user audio (files or arrays, any rate, any channel count) into 16 kHz mono waveforms.

Documented behaviour for unusual input:

* integer PCM arrays are scaled to [-1, 1) by their type's range;
* multi-channel audio is averaged to mono; for 2-D arrays the channel axis is the shorter
  one, so both ``(samples, channels)`` (soundfile) and ``(channels, samples)`` (torchaudio)
  work;
* any integer sample rate is resampled to the model rate (``sample_rate`` must be given for
  arrays);
* clips shorter than one analysis window (25 ms) are zero-padded to it;
* silent (all-zero) audio is embedded like any other clip, with a logged warning;
* empty audio, NaN/inf samples, unreadable or missing files raise :class:`AudioInputError`
  naming the input.
"""

import logging
from pathlib import Path
from typing import Optional, Union

import numpy as np
import soundfile
import torch
import torchaudio

from espnet2_slap.utils.waveform import AudioInputError, to_mono

AudioLike = Union[str, Path, np.ndarray, torch.Tensor]


def load_waveform(
    audio: AudioLike,
    sample_rate: Optional[int],
    target_rate: int,
    min_samples: int,
    name: Optional[str] = None,
) -> torch.Tensor:
    """Read and normalise one input.

    Args:
        audio: a file path, or a ``(T,)``/``(T, C)``/``(C, T)`` array or tensor.
        sample_rate: rate of an array input (ignored for files, which carry their own).
        target_rate: the model's rate.
        min_samples: shorter clips are zero-padded to this many samples.
        name: how to refer to the input in errors (defaults to the path or "array").

    Returns:
        ``(T,)`` float32 mono waveform at ``target_rate``.
    """
    if isinstance(audio, (str, Path)):
        name = name or str(audio)
        wave, sample_rate = _read_file(Path(audio), name)
    else:
        name = name or "audio array"
        if sample_rate is None:
            raise AudioInputError(f"{name}: give sample_rate for array input")
        wave = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise AudioInputError(f"{name}: sample rate must be a positive integer, got {sample_rate!r}")

    wave = np.asarray(wave)
    if np.issubdtype(wave.dtype, np.integer):
        wave = wave / float(np.iinfo(wave.dtype).max + 1)
    # (samples, channels) from soundfile, (channels, samples) from torchaudio: the shorter.
    channel_axis = 0 if wave.ndim == 2 and wave.shape[0] < wave.shape[1] else -1
    wave = to_mono(wave, channel_axis, name)
    if not np.any(wave):
        logging.warning(f"{name}: audio is silent (all zeros); embedding it anyway")

    tensor = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
    if sample_rate != target_rate:
        tensor = torchaudio.functional.resample(tensor, int(sample_rate), target_rate)
    if tensor.numel() < min_samples:
        tensor = torch.nn.functional.pad(tensor, (0, min_samples - tensor.numel()))
    return tensor


def _read_file(path: Path, name: str):
    if not path.is_file():
        raise AudioInputError(f"{name}: no such file")
    try:
        wave, rate = soundfile.read(str(path), dtype="float32", always_2d=False)
    except Exception as err:  # soundfile raises several types for bad files
        raise AudioInputError(f"{name}: cannot read audio ({err})") from err
    return wave, rate
