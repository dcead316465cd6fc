"""Long audio at inference: deterministic overlapping chunks, merged embeddings.

Clips up to ``max_native_seconds`` are encoded whole (the encoder handles any length; the
limit bounds the durations seen in training, 30 s in the paper). A longer clip is cut into
windows of ``chunk_seconds`` starting every ``hop_seconds``; the last window is aligned to the
end of the clip so every sample is covered and no window is shorter than ``chunk_seconds``.
The clip embedding is the mean of the L2-normalised window embeddings, normalised again.
Nothing is random: the same clip always gives the same windows. A long file is read window
by window (``audio_input.AudioFileWindows``) and its windows encoded a pack at a time, so the
memory of embedding it does not grow with its duration.
"""

from typing import List, Tuple

import torch
import torch.nn.functional as F


def chunk_spans(num_samples: int, chunk_samples: int, hop_samples: int) -> List[Tuple[int, int]]:
    """``[(start, end)]`` windows covering ``[0, num_samples)``.

    A clip no longer than ``chunk_samples`` is one window. Otherwise windows start at
    ``0, hop, 2 * hop, ...`` while they fit, plus one window ending exactly at the clip's end.
    """
    if chunk_samples < 1 or not 0 < hop_samples <= chunk_samples:
        raise ValueError(
            f"need chunk >= 1 and 0 < hop <= chunk, got chunk={chunk_samples} hop={hop_samples}"
        )
    if num_samples <= chunk_samples:
        return [(0, num_samples)]
    starts = list(range(0, num_samples - chunk_samples + 1, hop_samples))
    if starts[-1] + chunk_samples < num_samples:
        starts.append(num_samples - chunk_samples)
    return [(start, start + chunk_samples) for start in starts]


def merge_chunk_embeddings(embeddings: torch.Tensor) -> torch.Tensor:
    """``(num_chunks, D)`` window embeddings -> ``(D,)`` L2-normalised clip embedding."""
    return F.normalize(F.normalize(embeddings, dim=-1).mean(dim=0), dim=-1)
