"""Random token masks over a packed batch (the student's input for the SSL loss).

Each sample of the batch gets its own uniformly random set of masked tokens; the mask is
one flat boolean vector over the packed tokens, which the audio encoder uses to replace
those tokens by its learned mask token.
"""

from typing import Optional

import torch


def num_masked_tokens(lengths: torch.Tensor, ratio: float) -> torch.Tensor:
    """How many tokens of each sample are masked.

    ``round(ratio * L)`` (half to even, like Python's ``round``), clamped to ``[1, L - 1]``
    so that every sample with at least two tokens has a masked and a visible token; a
    sample with fewer than two tokens gets none.

    Args:
        lengths: ``(B,)`` integer tokens per sample.
        ratio: masking ratio in (0, 1).

    Returns:
        ``(B,)`` int64 number of masked tokens per sample.
    """
    lengths = lengths.long()
    wanted = torch.round(lengths.double() * ratio).long()
    return torch.minimum(wanted.clamp(min=1), lengths - 1).clamp(min=0)


def random_token_mask(
    lengths: torch.Tensor,
    ratio: float,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Mask exactly :func:`num_masked_tokens` uniformly random tokens of every sample.

    All samples are handled at once: every token draws a distinct random key, the tokens
    are sorted by ``(sample, key)``, and the first ``k_b`` tokens of sample ``b`` in that
    order are masked.

    Args:
        lengths: ``(B,)`` integer tokens per sample; the packed batch has ``N = lengths.sum()``
            tokens, sample 0 first.
        ratio: masking ratio, strictly between 0 and 1.
        generator: optional random generator (its device is used to draw the keys).

    Returns:
        ``(N,)`` bool on ``lengths.device``, True on the masked tokens.
    """
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"random_token_mask: ratio must be in (0, 1), got {ratio}")
    if lengths.dim() != 1 or lengths.is_floating_point() or lengths.is_complex():
        raise ValueError(
            "random_token_mask: lengths must be a 1-D integer tensor, got "
            f"dtype {lengths.dtype} and shape {tuple(lengths.shape)}"
        )
    lengths = lengths.long()
    if bool((lengths < 0).any()):
        raise ValueError(f"random_token_mask: lengths must be >= 0, got {lengths.tolist()}")
    device = lengths.device
    num_tokens = int(lengths.sum())
    sample_of_token = torch.repeat_interleave(torch.arange(lengths.numel(), device=device), lengths)

    key_device = generator.device if generator is not None else device
    keys = torch.randperm(num_tokens, generator=generator, device=key_device).to(device)
    order = torch.argsort(sample_of_token * num_tokens + keys)  # grouped by sample, random inside

    # The i-th token in that order belongs to sample_of_token[i] (samples stay in order).
    starts = torch.cumsum(lengths, 0) - lengths
    rank_in_sample = torch.empty_like(keys)
    rank_in_sample[order] = torch.arange(num_tokens, device=device) - starts[sample_of_token]
    return rank_in_sample < num_masked_tokens(lengths, ratio)[sample_of_token]
