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

A file longer than the model encodes whole (:func:`open_audio`) is not decoded at once:
:class:`AudioFileWindows` reads it in order, window by window, so memory does not grow with
its duration, and gives exactly the samples :func:`load_waveform` would.
"""

import logging
import math
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Tuple, Union

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


def open_audio(
    audio: AudioLike,
    sample_rate: Optional[int],
    target_rate: int,
    min_samples: int,
    max_whole_samples: int,
) -> Union[torch.Tensor, "AudioFileWindows"]:
    """:func:`load_waveform`, except that a file longer than ``max_whole_samples`` at
    ``target_rate`` becomes an :class:`AudioFileWindows` (only its header is read here)."""
    if isinstance(audio, (str, Path)):
        windows = AudioFileWindows(audio, target_rate)
        if windows.num_samples > max_whole_samples:
            return windows
    return load_waveform(audio, sample_rate, target_rate, min_samples)


class AudioFileWindows:
    """A file read window by window at ``target_rate``, in bounded memory.

    ``windows(spans)`` yields ``load_waveform(path, ...)[start:end]`` for each ``(start, end)``
    of model-rate samples, spans in increasing order: the file is decoded once, in order,
    keeping the current window and the resampling filter's context. A resampled window is
    computed as torchaudio resamples the whole file (the same polyphase frames from the same
    samples; equal up to float32 rounding, which may depend on the convolution's length);
    ``num_samples`` is the whole file's resampled length.
    """

    BLOCK_FRAMES = 1 << 16  # frames decoded per read (bounds multichannel transients)

    def __init__(self, path: Union[str, Path], target_rate: int, name: Optional[str] = None):
        self.path, self.name = Path(path), name or str(path)
        if not self.path.is_file():
            raise AudioInputError(f"{self.name}: no such file")
        try:
            info = soundfile.info(str(self.path))
        except Exception as err:  # soundfile raises several types for bad files
            raise AudioInputError(f"{self.name}: cannot read audio ({err})") from err
        self.frames, self.rate = int(info.frames), int(info.samplerate)
        self.target_rate = target_rate
        self.num_samples = resampled_length(self.frames, self.rate, target_rate)
        gcd = math.gcd(self.rate, target_rate)
        self._orig, self._new = self.rate // gcd, target_rate // gcd
        self._resample = None  # built by windows(): opening a short file costs no filter

    def _resampler(self) -> Optional[torchaudio.transforms.Resample]:
        """The filter ``functional.resample`` computes for float32 input (``dtype=float32``
        gives the same kernel), computed once for all windows; None at the model's rate."""
        if self._resample is None and self.rate != self.target_rate:
            self._resample = torchaudio.transforms.Resample(
                self.rate, self.target_rate, dtype=torch.float32
            )
        return self._resample

    def windows(self, spans: Iterable[Tuple[int, int]]) -> Iterator[torch.Tensor]:
        """``(end - start,)`` float32 windows; the whole file is decoded by the end, and a
        silent one is warned about then. Overlapping windows share their samples (each
        model-rate sample is computed once)."""
        reader = _BlockReader(self._mono_blocks(), self.name)
        out, out_start = torch.zeros(0), 0  # model-rate samples [out_start, out_start + len)
        for start, end in spans:
            if start < out_start:
                raise ValueError(f"spans must come in increasing order, got {(start, end)}")
            kept = out[start - out_start :]
            new_from = start + len(kept)
            if new_from < end:
                first, last = self._input_range(new_from, end)
                piece = self._resampled(reader.read(first, last), first, new_from, end)
                kept = torch.cat([kept, piece])
            out, out_start = kept, start
            yield out[: end - start]  # a view: ``out`` is never written to
        if reader.finish():
            logging.warning(f"{self.name}: audio is silent (all zeros); embedding it anyway")

    def check(self) -> None:
        """Decode the whole file once (nothing kept): raises what reading it would raise."""
        for _ in self._mono_blocks():
            pass

    def _mono_blocks(self) -> Iterator[np.ndarray]:
        """The file's mono float32 samples, in order, in blocks of at most BLOCK_FRAMES."""
        read = 0
        try:
            with soundfile.SoundFile(str(self.path)) as handle:
                while read < self.frames:
                    block = handle.read(min(self.BLOCK_FRAMES, self.frames - read),
                                        dtype="float32", always_2d=True)
                    if len(block) == 0:
                        break
                    read += len(block)
                    yield to_mono(block, -1, self.name)
        except AudioInputError:
            raise
        except Exception as err:  # libsndfile: "flac decoder lost sync", ...
            raise AudioInputError(f"{self.name}: cannot read audio ({err})") from err
        if read < self.frames:
            raise AudioInputError(
                f"{self.name}: cannot read audio (it ends after {read} of the {self.frames} "
                "samples its header gives)"
            )

    def _input_range(self, start: int, end: int) -> Tuple[int, int]:
        """File frames ``[first, last)`` that determine model-rate samples ``[start, end)``."""
        if self._resampler() is None:
            return start, end
        # Polyphase frame k (model-rate samples [k * new, (k + 1) * new)) reads file frames
        # [k * orig - width, (k + 1) * orig + width); the left context is whole frames, so
        # the segment's frames line up with the whole file's.
        orig, new, width = self._orig, self._new, self._resample.width
        first_frame = start // new - math.ceil(width / orig)
        last = min(self.frames, ((end - 1) // new + 1) * orig + width)
        return max(first_frame, 0) * orig, last

    def _resampled(self, segment: np.ndarray, first: int, start: int, end: int) -> torch.Tensor:
        """Model-rate samples ``[start, end)`` from file frames ``[first, first + len)``."""
        tensor = torch.from_numpy(np.ascontiguousarray(segment, dtype=np.float32))
        if self._resampler() is None:
            return tensor
        if first + len(segment) == self.frames:  # one more polyphase frame of zeros, as the
            tensor = torch.nn.functional.pad(tensor, (0, self._orig))  # whole file's padding
        offset = first // self._orig * self._new
        return self._resample(tensor)[start - offset : end - offset]


class _BlockReader:
    """Frames ``[first, last)`` of a stream of mono blocks, ranges in increasing order."""

    def __init__(self, blocks: Iterator[np.ndarray], name: str):
        self.blocks, self.name, self.silent = blocks, name, True
        self.buffer, self.start = np.zeros(0, dtype=np.float32), 0

    def read(self, first: int, last: int) -> np.ndarray:
        if first < self.start:
            raise ValueError(f"frames {first}-{last} come after frame {self.start} was dropped")
        parts, end = [self.buffer], self.start + len(self.buffer)
        while end < last:
            block = next(self.blocks, None)
            if block is None:  # past the header's length (_mono_blocks checks the file)
                raise AudioInputError(f"{self.name}: cannot read audio (ends early)")
            self.silent = self.silent and not np.any(block)
            parts.append(block)
            end += len(block)
        self.buffer = np.concatenate(parts)[first - self.start :]
        self.start = first
        return self.buffer[: last - first]

    def finish(self) -> bool:
        """Decode (and check) the rest of the file; whether it was silent throughout."""
        for block in self.blocks:
            self.silent = self.silent and not np.any(block)
        return self.silent


def resampled_length(frames: int, rate: int, target_rate: int) -> int:
    """Samples ``torchaudio.functional.resample`` returns for ``frames`` samples at ``rate``."""
    if rate == target_rate:
        return frames
    gcd = math.gcd(rate, target_rate)
    orig, new = rate // gcd, target_rate // gcd
    # torchaudio: ceil of new * frames / orig as a float32 tensor, cut to what its strided
    # convolution yields ((frames // orig + 1) polyphase frames of new samples).
    target = int(torch.ceil(torch.as_tensor(new * frames / orig)).long())
    return min(target, (frames // orig + 1) * new)
