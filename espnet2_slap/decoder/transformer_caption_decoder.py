"""Transformer caption decoder: the L_CAP objective and caption generation of SLAP.

Its layout is the "Caption decoder" reading of docs/design.md. Positions are learned and
absolute: captions are short, text positions never meet audio positions, and a cached
decoding step needs nothing but its index. Padded memory frames are zeroed before the
projection and masked out of every cross-attention, so their values (even NaN) cannot
reach the result.
"""

from typing import Dict, List, Mapping, Optional, Tuple

import torch
import torch.nn.functional as F

from espnet2_slap.decoder.abs_caption_decoder import AbsCaptionDecoder
from espnet2_slap.decoder.beam_search import beam_search, greedy_search
from espnet2_slap.decoder.decoding_session import CachedDecodingSession, KeyValue
from espnet2_slap.decoder.input_checks import check_captions, check_memory, check_search
from espnet2_slap.layers.swiglu import SwiGLU

MAX_LENGTH = 128  # decoder positions, <sos> included
NORM_EPS = 1e-6


class MultiHeadAttention(torch.nn.Module):
    """Bias-free multi-head attention with its own query and key/value projections."""

    def __init__(self, dim: int, num_heads: int, dropout: float):
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.query = torch.nn.Linear(dim, dim, bias=False)
        self.key_value = torch.nn.Linear(dim, 2 * dim, bias=False)
        self.out = torch.nn.Linear(dim, dim, bias=False)

    def keys_values(self, source: torch.Tensor) -> KeyValue:
        """``(B, S, D)`` -> keys and values, each ``(B, H, S, D / H)``."""
        keys, values = self.key_value(source).unflatten(-1, (2, self.num_heads, -1)).permute(
            2, 0, 3, 1, 4
        )
        return keys, values

    def forward(
        self, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, allowed: torch.Tensor
    ) -> torch.Tensor:
        """``(B, Q, D)`` queries -> ``(B, Q, D)``.

        ``allowed``: bool, broadcastable to ``(B, H, Q, S)``, True where a query may look;
        every query needs at least one allowed key.
        """
        queries = self.query(x).unflatten(-1, (self.num_heads, -1)).transpose(1, 2)
        out = F.scaled_dot_product_attention(
            queries,
            keys,
            values,
            attn_mask=allowed,
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.out(out.transpose(1, 2).flatten(-2))


def causal_mask(num_queries: int, num_past: int, device: torch.device) -> torch.Tensor:
    """``(Q, P + Q)`` bool: query ``i`` (position ``P + i``) sees keys ``0 .. P + i``."""
    key_position = torch.arange(num_past + num_queries, device=device)
    query_position = torch.arange(num_queries, device=device) + num_past
    return key_position[None, :] <= query_position[:, None]


class CaptionDecoderLayer(torch.nn.Module):
    """Pre-norm layer: causal self-attention, cross-attention to memory, SwiGLU.

    Each sub-layer is ``x + dropout(f(RMSNorm(x)))``.
    """

    def __init__(self, dim: int, num_heads: int, mlp_hidden_size: int, dropout: float):
        super().__init__()
        self.self_attn_norm = torch.nn.RMSNorm(dim, eps=NORM_EPS)
        self.self_attn = MultiHeadAttention(dim, num_heads, dropout)
        self.cross_attn_norm = torch.nn.RMSNorm(dim, eps=NORM_EPS)
        self.cross_attn = MultiHeadAttention(dim, num_heads, dropout)
        self.mlp_norm = torch.nn.RMSNorm(dim, eps=NORM_EPS)
        self.mlp = SwiGLU(dim, mlp_hidden_size)
        self.dropout = torch.nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        past: Optional[KeyValue],
        memory_kv: KeyValue,
        memory_valid: torch.Tensor,
    ) -> Tuple[torch.Tensor, KeyValue]:
        """The ``Q`` newest positions ``(N, Q, D)`` of ``N`` hypotheses, grouped by clip over
        ``B`` clips -> ``(N, Q, D)`` and the self-attention keys/values of all ``P + Q``
        positions. ``past``: keys/values ``(N, H, P, D / H)`` or None; ``memory_kv``: keys/values
        ``(B, H, S, D / H)``; ``memory_valid``: ``(B, S)``, True on real frames."""
        num_queries, dim = x.shape[1:]
        h = self.self_attn_norm(x)
        keys, values = self.self_attn.keys_values(h)
        if past is not None:
            keys = torch.cat([past[0], keys], dim=2)
            values = torch.cat([past[1], values], dim=2)
        num_past = keys.size(2) - num_queries
        allowed = causal_mask(num_queries, num_past, x.device)
        x = x + self.dropout(self.self_attn(h, keys, values, allowed))

        # All hypotheses of a clip are queries against that clip's memory.
        h = self.cross_attn_norm(x).reshape(memory_valid.size(0), -1, dim)
        cross = self.cross_attn(h, *memory_kv, memory_valid[:, None, None, :])
        x = x + self.dropout(cross.reshape(x.shape))
        x = x + self.dropout(self.mlp(self.mlp_norm(x)))
        return x, (keys, values)


class TransformerCaptionDecoder(AbsCaptionDecoder):
    """Shallow Transformer decoder for the captioning loss (paper: 8 layers, 8 heads, 512).

    Args:
        vocab_size: size of the ESPnet token list (``0`` ``<blank>``, ``1`` ``<unk>``, last
            ``<sos/eos>``).
        memory_size: width of the audio token features.
        hidden_size, num_layers, num_heads, mlp_hidden_size: decoder shape (SwiGLU inner
            width); ``num_heads`` must divide ``hidden_size``.
        dropout: on embeddings, attention weights and residual branches while training.
        max_length: decoder positions, ``<sos>`` included: training captions may have at most
            ``max_length - 1`` tokens, generated ones at most ``max_length``.
        label_smoothing: of the cross-entropy (0 gives the plain NLL).
        check_values: also validate token ids, caption lengths and memory masks in
            ``forward``; each such check is a host sync, so it is off for training.
    """

    def __init__(
        self,
        vocab_size: int,
        memory_size: int,
        hidden_size: int = 512,
        num_layers: int = 8,
        num_heads: int = 8,
        mlp_hidden_size: int = 2048,
        dropout: float = 0.1,
        max_length: int = MAX_LENGTH,
        label_smoothing: float = 0.0,
        check_values: bool = False,
    ):
        super().__init__()
        if vocab_size < 3:
            raise ValueError(
                f"vocab_size must be >= 3 (<blank>, <unk>, <sos/eos>), got {vocab_size}"
            )
        if hidden_size % num_heads != 0:
            raise ValueError(
                f"hidden_size {hidden_size} is not divisible by num_heads {num_heads}"
            )
        if max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {max_length}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must lie in [0, 1), got {label_smoothing}")
        self.vocab_size = vocab_size
        self.memory_size = memory_size
        self.max_length = max_length
        self.label_smoothing = label_smoothing
        self.check_values = check_values
        self.sos_eos = vocab_size - 1

        self.memory_proj = torch.nn.Linear(memory_size, hidden_size, bias=False)
        self.memory_norm = torch.nn.RMSNorm(hidden_size, eps=NORM_EPS)
        self.token_embedding = torch.nn.Embedding(vocab_size, hidden_size)
        self.position_embedding = torch.nn.Parameter(torch.zeros(max_length, hidden_size))
        self.embedding_dropout = torch.nn.Dropout(dropout)
        self.layers = torch.nn.ModuleList(
            CaptionDecoderLayer(hidden_size, num_heads, mlp_hidden_size, dropout)
            for _ in range(num_layers)
        )
        self.final_norm = torch.nn.RMSNorm(hidden_size, eps=NORM_EPS)
        torch.nn.init.normal_(self.token_embedding.weight, std=0.02)
        torch.nn.init.normal_(self.position_embedding, std=0.02)

    @classmethod
    def max_caption_tokens(cls, conf: Mapping) -> Optional[int]:
        return conf.get("max_length", MAX_LENGTH) - 1  # room for <sos/eos>

    def encode_memory(self, memory: torch.Tensor, memory_valid: torch.Tensor) -> List[KeyValue]:
        """``(B, S, memory_size)`` -> per layer, cross-attention keys and values
        ``(B, H, S, hidden_size / H)``."""
        memory = memory.masked_fill(~memory_valid[..., None], 0.0)
        projected = self.memory_norm(self.memory_proj(memory))
        return [layer.cross_attn.keys_values(projected) for layer in self.layers]

    def decode(
        self,
        inputs: torch.Tensor,
        start_position: int,
        past: Optional[List[KeyValue]],
        memory_kv: List[KeyValue],
        memory_valid: torch.Tensor,
    ) -> Tuple[torch.Tensor, List[KeyValue]]:
        """``(N, Q)`` ids at positions ``start_position ..`` (``past``: the per-layer keys
        and values of the earlier ones, or None) -> ``(N, Q, vocab_size)`` logits, at least
        float32 for the softmax, and the per-layer keys and values of all positions."""
        end_position = start_position + inputs.size(1)
        if end_position > self.max_length:
            raise ValueError(
                f"decoding position {end_position} exceeds max_length {self.max_length}"
            )
        positions = self.position_embedding[start_position:end_position]
        x = self.embedding_dropout(self.token_embedding(inputs) + positions)
        present = []
        for index, layer in enumerate(self.layers):
            layer_past = past[index] if past is not None else None
            x, layer_kv = layer(x, layer_past, memory_kv[index], memory_valid)
            present.append(layer_kv)
        logits = F.linear(self.final_norm(x), self.token_embedding.weight)
        return logits.to(torch.promote_types(logits.dtype, torch.float32)), present

    def logits(
        self, memory: torch.Tensor, memory_valid: torch.Tensor, inputs: torch.Tensor
    ) -> torch.Tensor:
        """Teacher forcing: ``(B, T)`` ids, ``<sos/eos>`` first -> ``(B, T, vocab_size)``;
        position ``t`` sees inputs ``<= t``."""
        if inputs.dim() != 2 or inputs.size(0) != memory.size(0):
            raise ValueError(
                f"inputs must be (B, T) with B = {memory.size(0)} clips of memory, "
                f"got {tuple(inputs.shape)}"
            )
        memory_kv = self.encode_memory(memory, memory_valid)
        logits, _ = self.decode(inputs, 0, None, memory_kv, memory_valid)
        return logits

    def forward(
        self,
        memory: torch.Tensor,
        memory_valid: torch.Tensor,
        tokens: torch.Tensor,
        token_lengths: torch.Tensor,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Teacher-forced captioning loss (see :class:`AbsCaptionDecoder`).

        Input ``<sos/eos> + caption``, target ``caption + <sos/eos>``; only the first
        ``token_lengths`` entries of each row of ``tokens`` are read, whatever the padding.
        """
        check_memory(memory, memory_valid, self.memory_size, values=self.check_values)
        tokens, caption_valid = check_captions(
            tokens, token_lengths, memory.size(0), self.sos_eos, self.max_length,
            values=self.check_values,
        )
        batch = tokens.size(0)
        sos_eos = torch.full((batch, 1), self.sos_eos, dtype=torch.long, device=tokens.device)
        # Positions after a caption's end feed <sos/eos>; causality keeps them from the loss.
        inputs = torch.cat([sos_eos, tokens.masked_fill(~caption_valid, self.sos_eos)], dim=1)
        targets = F.pad(tokens.masked_fill(~caption_valid, -1), (0, 1), value=-1)
        targets[torch.arange(batch, device=tokens.device), token_lengths.long()] = self.sos_eos

        logits = self.logits(memory, memory_valid, inputs)  # (B, L + 1, V)
        loss = F.cross_entropy(
            logits.flatten(0, 1),
            targets.flatten(),
            ignore_index=-1,
            label_smoothing=self.label_smoothing,
        )
        scored = targets != -1
        accuracy = (logits.argmax(dim=-1) == targets)[scored].float().mean()
        return loss, {"loss_cap": loss.detach(), "acc_cap": accuracy.detach()}

    def start_session(
        self, memory: torch.Tensor, memory_valid: torch.Tensor
    ) -> CachedDecodingSession:
        return CachedDecodingSession(self, memory, memory_valid)

    def generate(
        self,
        memory: torch.Tensor,
        memory_valid: torch.Tensor,
        max_length: int = 30,
        beam_size: int = 1,
    ) -> List[List[int]]:
        """Greedy (``beam_size == 1``) or beam search (see ``beam_search``); call ``eval()``
        first, dropout follows the module mode. ``max_length`` (without ``<sos/eos>``) is at
        most the decoder's."""
        check_search(max_length, beam_size, self.max_length)
        check_memory(memory, memory_valid, self.memory_size, values=True)
        with torch.no_grad():
            session = self.start_session(memory, memory_valid)
            if beam_size == 1:
                return greedy_search(session, self.sos_eos, max_length)
            return beam_search(session, self.sos_eos, max_length, beam_size)
