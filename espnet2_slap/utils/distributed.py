"""Whether this process is one of several data-parallel ranks."""

import torch.distributed as dist


def is_distributed() -> bool:
    """True under an initialised process group of more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
