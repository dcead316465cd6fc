"""Cut log-mel spectrograms into non-overlapping square patches in time-major order.

For time step ``t`` come its ``F = n_mels / patch_size`` frequency patches, then those of
``t + 1``, so a sample's padding (frames past its length) only ever fills its last patches,
which are dropped. The last, partial time step is kept and zero-filled past the length, so a
clip of any length yields at least one time step.
"""

from typing import Tuple, TypeVar

import torch
import torch.nn.functional as F

from espnet2_slap.layers.packed_batch import PackedBatch, valid_mask

Frames = TypeVar("Frames", int, torch.Tensor)


def num_time_steps(frame_lengths: Frames, patch_size: int) -> Frames:
    """Patch time steps of clips of ``frame_lengths`` frames: ``ceil(frames / patch_size)``,
    at least 1. An int, or a ``(B,)`` int tensor."""
    steps = -(-frame_lengths // patch_size)
    return steps.clamp(min=1) if isinstance(steps, torch.Tensor) else max(steps, 1)


def num_patch_tokens(frame_lengths: Frames, patch_size: int, freq_patches: int) -> Frames:
    """Patch tokens of clips of ``frame_lengths`` frames (a clip's packed length)."""
    return num_time_steps(frame_lengths, patch_size) * freq_patches


def patchify(
    feats: torch.Tensor, feats_lengths: torch.Tensor, patch_size: int
) -> Tuple[PackedBatch, torch.Tensor]:
    """Patch a padded batch of spectrograms and drop the padded patches.

    Args:
        feats: ``(B, T, n_mels)`` features; frames past each length are ignored.
        feats_lengths: ``(B,)`` valid frames per clip.
        patch_size: patch side in frames and in mel bins.

    Returns:
        patches: packed ``(N, patch_size * patch_size)`` flattened (time, frequency) patches.
        positions: ``(N, 2)`` int64 (time step, frequency patch) of each token.
    """
    batch, frames, n_mels = feats.shape
    if n_mels % patch_size != 0:
        raise ValueError(f"n_mels={n_mels} is not divisible by patch_size={patch_size}")
    freq_patches = n_mels // patch_size
    steps = num_time_steps(feats_lengths, patch_size)
    total_steps = max(int(steps.max()), -(-frames // patch_size))
    padded_frames = total_steps * patch_size

    frame_valid = valid_mask(feats_lengths, padded_frames)
    x = F.pad(feats, (0, 0, 0, padded_frames - frames)) * frame_valid[..., None]
    x = x.view(batch, total_steps, patch_size, freq_patches, patch_size)
    x = x.permute(0, 1, 3, 2, 4).reshape(batch, total_steps * freq_patches, patch_size**2)

    patches = PackedBatch.from_padded(x, num_patch_tokens(feats_lengths, patch_size, freq_patches))
    index = patches.positions_in_sample
    positions = torch.stack([index // freq_patches, index % freq_patches], dim=-1)
    return patches, positions
