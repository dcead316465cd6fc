"""Per-clip features: a clip's log-mels and SpecAugment masks do not depend on its batch.

ESPnet's ``DefaultFrontend`` frames a padded batch as a whole: in a batch, every clip but the
longest gets its last STFT frames computed over the zero padding, whereas the same clip alone
(at inference) is reflect-padded at its end; utterance-level normalisation then spreads the
difference to every frame. ESPnet's ``SpecAug`` draws time masks relative to the padded batch
length, so a short clip next to a long one is mostly left unmasked (or masked by half).

Both modules are therefore run clip by clip, each clip on its own samples only, and the
results padded back into a batch. Clips shorter than one FFT window are zero-padded to it
first (as ``inference.audio_input.load_waveform`` does), so training and inference frame
them alike.
"""

from typing import Callable, List, Mapping, Optional, Tuple

import torch


def frontend_sample_rate(frontend_conf: Optional[Mapping]) -> int:
    """The rate a frontend config expects: its ``fs`` (16000, "16k", ...), 16000 if unset."""
    import humanfriendly

    return int(humanfriendly.parse_size(str((frontend_conf or {}).get("fs", 16000))))


def min_frontend_samples(frontend: torch.nn.Module) -> int:
    """Samples a clip needs before framing: ``n_fft`` of the frontend's STFT (0 if none)."""
    stft = getattr(frontend, "stft", None)
    return int(getattr(stft, "n_fft", 0) or 0)


def _pad_clips(clips: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
    """``[(T_i, ...)]`` -> zero-padded ``(B, T_max, ...)`` and ``(B,)`` lengths."""
    lengths = torch.tensor([clip.size(0) for clip in clips], device=clips[0].device)
    return torch.nn.utils.rnn.pad_sequence(clips, batch_first=True), lengths


def _per_clip(
    module: Callable, values: torch.Tensor, lengths: torch.Tensor, min_length: int = 0
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Run ``module(x, x_lengths)`` on each clip ``values[i, :lengths[i]]`` alone."""
    outputs = []
    for i, length in enumerate(lengths.tolist()):
        clip = values[i : i + 1, :length]
        if clip.size(1) < min_length:
            pad = [0, 0] * (clip.dim() - 2) + [0, min_length - clip.size(1)]
            clip = torch.nn.functional.pad(clip, pad)
        out, out_lengths = module(clip, lengths.new_tensor([clip.size(1)]))
        outputs.append(out[0, : int(out_lengths[0])])
    return _pad_clips(outputs)


def per_clip_frontend(
    frontend: torch.nn.Module, speech: torch.Tensor, speech_lengths: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Features of each clip computed from its own samples.

    Args:
        frontend: an ESPnet frontend, e.g. ``DefaultFrontend``.
        speech: ``(B, T_wav)`` zero-padded waveforms; ``speech_lengths`` ``(B,)``.

    Returns:
        ``(B, T, F)`` features (zero past each clip's frames) and ``(B,)`` frame counts.
    """
    return _per_clip(frontend, speech, speech_lengths, min_frontend_samples(frontend))


def per_clip_specaug(
    specaug: torch.nn.Module, feats: torch.Tensor, feats_lengths: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor]:
    """SpecAugment with each clip's masks drawn from its own length.

    Args:
        specaug: an ESPnet ``AbsSpecAug`` (e.g. ``SpecAug``).
        feats: ``(B, T, F)`` features; ``feats_lengths`` ``(B,)``.

    Returns:
        ``(B, T', F)`` augmented features and ``(B,)`` lengths.
    """
    return _per_clip(specaug, feats, feats_lengths)
