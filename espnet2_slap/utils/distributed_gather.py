"""Gather embeddings of every data-parallel rank, keeping the gradient to each rank's own rows.

Contrastive losses want every other clip of the global batch as a negative (the paper's
batch is 2048 clips across GPUs). With the packing sampler each rank's batch size varies,
so rows are padded to the largest size for the collective and trimmed afterwards.
"""

from typing import Tuple

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn

from espnet2_slap.utils.distributed import is_distributed


def gather_rows(x: torch.Tensor) -> Tuple[torch.Tensor, int]:
    """All ranks' rows, in rank order.

    Args:
        x: ``(B_local, D)`` this rank's rows.

    Returns:
        ``(B_total, D)`` rows of every rank (differentiable: the gradient of any rank's loss
        reaches the rank that owns the row), and the offset of this rank's rows in it.
        Without an initialised process group: ``(x, 0)``.
    """
    if not is_distributed():
        return x, 0
    world = dist.get_world_size()
    size = torch.tensor([x.size(0)], device=x.device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    sizes = [int(s) for s in sizes]
    padded = torch.nn.functional.pad(x, (0, 0, 0, max(sizes) - x.size(0)))
    parts = dist_fn.all_gather(padded)
    rows = torch.cat([part[:n] for part, n in zip(parts, sizes)])
    return rows, sum(sizes[: dist.get_rank()])
