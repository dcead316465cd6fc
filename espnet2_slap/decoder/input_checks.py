"""Input validation of the caption decoder.

Shape and dtype checks cost nothing and always run. Checks on values (token ids, caption
lengths, memory masks) wait for the device, so the training forward runs them only with
``check_values=True``; caption generation always runs them.
"""

from typing import Tuple

import torch

from espnet2_slap.layers.packed_batch import valid_mask


def check_memory(
    memory: torch.Tensor, memory_valid: torch.Tensor, memory_size: int, values: bool
) -> None:
    if memory.dim() != 3 or memory.size(-1) != memory_size:
        raise ValueError(
            f"memory must be (B, S, memory_size={memory_size}), got {tuple(memory.shape)}"
        )
    if memory_valid.dtype != torch.bool or memory_valid.shape != memory.shape[:2]:
        raise ValueError(
            f"memory_valid must be a bool tensor of shape {tuple(memory.shape[:2])} "
            f"(memory's B, S), got {memory_valid.dtype} {tuple(memory_valid.shape)}"
        )
    if values and not bool(memory_valid.any(dim=-1).all()):
        raise ValueError("memory_valid: every clip needs at least one valid memory frame")


def check_captions(
    tokens: torch.Tensor,
    token_lengths: torch.Tensor,
    batch: int,
    sos_eos: int,
    max_length: int,
    values: bool,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Returns ``tokens`` cut to the longest caption ``(B, L)`` int64 and its valid mask."""
    if tokens.dim() != 2 or tokens.size(0) != batch or tokens.is_floating_point():
        raise ValueError(
            f"tokens must be integer ids of shape (B={batch}, L), "
            f"got {tokens.dtype} {tuple(tokens.shape)}"
        )
    if token_lengths.shape != (batch,) or token_lengths.is_floating_point():
        raise ValueError(
            f"token_lengths must be integers of shape ({batch},), "
            f"got {token_lengths.dtype} {tuple(token_lengths.shape)}"
        )
    if values and bool(((token_lengths < 0) | (token_lengths > tokens.size(1))).any()):
        raise ValueError(
            f"token_lengths must lie in [0, {tokens.size(1)}] (the width of tokens), "
            f"got {token_lengths.tolist()}"
        )
    longest = int(token_lengths.max()) if batch > 0 else 0
    if longest + 1 > max_length:
        raise ValueError(
            f"a caption of {longest} tokens plus <sos/eos> exceeds the decoder's "
            f"max_length {max_length}; truncate captions in preprocessing"
        )
    tokens = tokens[:, :longest].long()
    caption_valid = valid_mask(token_lengths, longest)
    if values:
        ids = tokens[caption_valid]
        if bool(((ids < 0) | (ids >= sos_eos)).any()):
            raise ValueError(
                f"tokens: caption ids must lie in [0, {sos_eos - 1}] (no padding inside "
                f"token_lengths, no <sos/eos>={sos_eos}, vocab_size {sos_eos + 1})"
            )
    return tokens, caption_valid


def check_search(max_length: int, beam_size: int, decoder_max_length: int) -> None:
    if not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be an integer >= 1, got {beam_size!r}")
    if not isinstance(max_length, int) or not 1 <= max_length <= decoder_max_length:
        raise ValueError(
            f"max_length must be an integer in [1, {decoder_max_length}] (the decoder's "
            f"max_length), got {max_length!r}"
        )
