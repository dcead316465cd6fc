"""Token-by-token decoding with a key/value cache (the ``DecodingSession`` of ``beam_search``)."""

from typing import TYPE_CHECKING, List, Optional, Tuple

import torch

if TYPE_CHECKING:
    from espnet2_slap.decoder.transformer_caption_decoder import TransformerCaptionDecoder

KeyValue = Tuple[torch.Tensor, torch.Tensor]


class CachedDecodingSession:
    """Hypotheses over ``B`` clips; cross-attention keys/values are computed once per clip."""

    def __init__(
        self, decoder: "TransformerCaptionDecoder", memory: torch.Tensor, memory_valid: torch.Tensor
    ):
        self.decoder = decoder
        self.memory_kv = decoder.encode_memory(memory, memory_valid)
        self.memory_valid = memory_valid
        self.batch_size = memory.size(0)
        self.device = memory.device
        self.past: Optional[List[KeyValue]] = None
        self.length = 0

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feed ``(N,)`` tokens, ``N`` a multiple of ``B``; returns ``(N, V)`` log-probs."""
        if tokens.dim() != 1 or tokens.numel() % self.batch_size != 0:
            raise ValueError(
                f"tokens must be (N,) with N a multiple of {self.batch_size} clips, "
                f"got {tuple(tokens.shape)}"
            )
        logits, self.past = self.decoder.decode(
            tokens[:, None], self.length, self.past, self.memory_kv, self.memory_valid
        )
        self.length += 1
        return logits[:, 0].log_softmax(dim=-1)

    def reorder(self, index: torch.Tensor) -> None:
        """Hypothesis ``i`` continues hypothesis ``index[i]`` (of the same clip)."""
        self.past = [(keys[index], values[index]) for keys, values in self.past]
