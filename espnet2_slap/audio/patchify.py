"""Cut log-mel spectrograms into non-overlapping square patches in time-major order.

For time step ``t`` come its ``F = n_mels / patch_size`` frequency patches, then those of
``t + 1``, so a sample's padding (frames past its length) only ever fills its last patches,
which are dropped. The last, partial time step is kept and zero-filled past the length, so a
clip of any length yields at least one time step.
"""

from typing import Tuple

import torch
import torch.nn.functional as F

from espnet2_slap.layers.packed_batch import PackedBatch


def num_time_steps(frame_lengths: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``(B,)`` patch time steps of clips with ``frame_lengths`` frames (at least 1)."""
    return torch.div(frame_lengths + patch_size - 1, patch_size, rounding_mode="floor").clamp(
        min=1
    )


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

    frame_valid = torch.arange(padded_frames, device=feats.device)[None, :] < feats_lengths[:, None]
    x = F.pad(feats, (0, 0, 0, padded_frames - frames)) * frame_valid[..., None]
    x = x.view(batch, total_steps, patch_size, freq_patches, patch_size)
    x = x.permute(0, 1, 3, 2, 4).reshape(batch, total_steps * freq_patches, patch_size**2)

    patches = PackedBatch.from_padded(x, steps * freq_patches)
    index = patches.positions_in_sample
    positions = torch.stack([index // freq_patches, index % freq_patches], dim=-1)
    return patches, positions
