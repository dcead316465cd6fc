"""Float32 islands inside mixed-precision (bf16 autocast) training.

Under ``torch.autocast`` a matmul runs in bf16 whatever its inputs' dtype, which rounds a
logit of 100 (cosine x logit scale) to a step of 0.5. Contrastive logits, prototype scores
(divided by a 0.07 teacher temperature), Sinkhorn-Knopp and the softmaxes of the losses are
therefore computed in float32 with autocast switched off for that region.
"""

import torch


def float32_region(tensor: torch.Tensor):
    """Autocast off on ``tensor``'s device; cast the inputs with :func:`at_least_float32`."""
    return torch.autocast(device_type=tensor.device.type, enabled=False)


def at_least_float32(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` in float32 if it is in a 16-bit float type; float64 stays float64."""
    if tensor.dtype in (torch.float16, torch.bfloat16):
        return tensor.float()
    return tensor
