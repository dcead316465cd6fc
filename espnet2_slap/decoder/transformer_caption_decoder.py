"""Transformer caption decoder: the L_CAP objective and caption generation of SLAP.

A shallow pre-norm Transformer decoder trained from scratch with teacher forcing. It
cross-attends to the dense audio token features of the audio encoder, taken before MAP
pooling and projected from ``memory_size`` to ``hidden_size`` (linear + RMSNorm).

Choices where the paper is silent:

* Learned absolute positional embeddings over ``max_length`` decoder positions (``<sos>``
  included). Captions are short and bounded, text positions never meet audio positions
  (cross-attention carries no positional bias, so RoPE would only act inside the
  self-attention), and a cached decoding step needs nothing but its index.
* RMSNorm, bias-free linear layers and a SwiGLU feed-forward, as in the audio encoder.
* The output projection is the transposed token embedding (tied weights, no bias).
* Padded memory frames are zeroed before the projection and masked out of every
  cross-attention, so their values (even NaN) cannot reach the result.
"""

from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F

from espnet2_slap.decoder.abs_caption_decoder import AbsCaptionDecoder
from espnet2_slap.decoder.beam_search import beam_search, greedy_search
from espnet2_slap.layers.swiglu import SwiGLU

KeyValue = Tuple[torch.Tensor, torch.Tensor]

NORM_EPS = 1e-6


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """Half-precision logits to float32 for the softmax; float32 and float64 unchanged."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


class MultiHeadAttention(torch.nn.Module):
    """Bias-free multi-head attention with its own query and key/value projections.

    Args:
        dim: model width, divisible by ``num_heads``.
        num_heads: attention heads.
        dropout: dropout on the attention weights while training.
    """

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
        """Attend.

        Args:
            x: ``(B, Q, D)`` queries.
            keys, values: ``(B, H, S, D / H)``.
            allowed: bool, broadcastable to ``(B, H, Q, S)``; True where a query may look.
                Every query needs at least one allowed key.

        Returns:
            ``(B, Q, D)``.
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
    """Pre-norm decoder layer: causal self-attention, cross-attention to memory, SwiGLU.

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
        """Run the ``Q`` newest positions of ``N`` hypotheses.

        Args:
            x: ``(N, Q, D)``.
            past: self-attention keys and values of the ``P`` earlier positions, each
                ``(N, H, P, D / H)``, or None when ``P = 0``.
            memory_kv: this layer's cross-attention keys and values of the ``B`` clips, each
                ``(B, H, S, D / H)``; ``N`` is a multiple of ``B`` and the hypotheses are
                grouped by clip.
            memory_valid: ``(B, S)`` bool, True on real memory frames.

        Returns:
            ``(N, Q, D)`` and the self-attention keys and values of all ``P + Q`` positions.
        """
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
        hidden_size: decoder width.
        num_layers: decoder layers.
        num_heads: attention heads; must divide ``hidden_size``.
        mlp_hidden_size: SwiGLU inner width.
        dropout: on embeddings, attention weights and residual branches while training.
        max_length: decoder positions, ``<sos>`` included: training captions may have at most
            ``max_length - 1`` tokens, generated ones at most ``max_length``.
        label_smoothing: of the cross-entropy (0 gives the plain NLL).
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
        max_length: int = 128,
        label_smoothing: float = 0.0,
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

    def encode_memory(self, memory: torch.Tensor, memory_valid: torch.Tensor) -> List[KeyValue]:
        """Cross-attention keys and values of every layer.

        Args:
            memory: ``(B, S, memory_size)``.
            memory_valid: ``(B, S)`` bool; every clip needs a valid frame.

        Returns:
            per layer, keys and values each ``(B, H, S, hidden_size / H)``.
        """
        self._check_memory(memory, memory_valid)
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
        """Next-token logits for ``Q`` new positions of ``N`` hypotheses.

        Args:
            inputs: ``(N, Q)`` token ids at positions ``start_position ..
                start_position + Q - 1``.
            start_position: number of earlier positions held in ``past``.
            past: per layer, self-attention keys and values of the earlier positions, or None.
            memory_kv: from :meth:`encode_memory` for ``B`` clips; ``N`` is a multiple of
                ``B``, hypotheses grouped by clip.
            memory_valid: ``(B, S)``.

        Returns:
            ``(N, Q, vocab_size)`` logits and, per layer, the keys and values of all positions.
        """
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
        return F.linear(self.final_norm(x), self.token_embedding.weight), present

    def logits(
        self, memory: torch.Tensor, memory_valid: torch.Tensor, inputs: torch.Tensor
    ) -> torch.Tensor:
        """Teacher-forced next-token logits.

        Args:
            memory: ``(B, S, memory_size)``.
            memory_valid: ``(B, S)`` bool.
            inputs: ``(B, T)`` ids, ``<sos/eos>`` first; position ``t`` sees inputs ``<= t``.

        Returns:
            ``(B, T, vocab_size)``.
        """
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

        Returns:
            the mean (label-smoothed) cross-entropy per real target token, and stats
            ``loss_cap`` and ``acc_cap`` (argmax accuracy on the same targets).
        """
        tokens, real = self._check_tokens(tokens, token_lengths, memory.size(0))
        batch = tokens.size(0)
        sos_eos = torch.full((batch, 1), self.sos_eos, dtype=torch.long, device=tokens.device)
        # Positions after a caption's end feed <sos/eos>; causality keeps them from the loss.
        inputs = torch.cat([sos_eos, tokens.masked_fill(~real, self.sos_eos)], dim=1)
        targets = F.pad(tokens.masked_fill(~real, -1), (0, 1), value=-1)
        targets[torch.arange(batch, device=tokens.device), token_lengths.long()] = self.sos_eos

        logits = at_least_float32(self.logits(memory, memory_valid, inputs))
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
    ) -> "CachedDecodingSession":
        """A token-by-token decoding session over these clips (see ``beam_search``)."""
        return CachedDecodingSession(self, memory, memory_valid)

    def generate(
        self,
        memory: torch.Tensor,
        memory_valid: torch.Tensor,
        max_length: int = 30,
        beam_size: int = 1,
    ) -> List[List[int]]:
        """Greedy (``beam_size == 1``) or length-normalised beam search, see ``beam_search``.

        Dropout follows the module mode: call ``eval()`` first.

        Args:
            memory: ``(B, S, memory_size)``.
            memory_valid: ``(B, S)`` bool.
            max_length: most tokens per caption, ``<sos/eos>`` excluded; at most the
                decoder's ``max_length``.
            beam_size: hypotheses kept per clip, >= 1.

        Returns:
            one list of token ids per clip, without ``<sos/eos>``.
        """
        if not isinstance(beam_size, int) or beam_size < 1:
            raise ValueError(f"beam_size must be an integer >= 1, got {beam_size!r}")
        if not isinstance(max_length, int) or not 1 <= max_length <= self.max_length:
            raise ValueError(
                f"max_length must be an integer in [1, {self.max_length}] (the decoder's "
                f"max_length), got {max_length!r}"
            )
        with torch.no_grad():
            session = self.start_session(memory, memory_valid)
            if beam_size == 1:
                return greedy_search(session, self.sos_eos, max_length)
            return beam_search(session, self.sos_eos, max_length, beam_size)

    def _check_memory(self, memory: torch.Tensor, memory_valid: torch.Tensor) -> None:
        if memory.dim() != 3 or memory.size(-1) != self.memory_size:
            raise ValueError(
                f"memory must be (B, S, memory_size={self.memory_size}), "
                f"got {tuple(memory.shape)}"
            )
        if memory_valid.dtype != torch.bool or memory_valid.shape != memory.shape[:2]:
            raise ValueError(
                f"memory_valid must be a bool tensor of shape {tuple(memory.shape[:2])} "
                f"(memory's B, S), got {memory_valid.dtype} {tuple(memory_valid.shape)}"
            )
        if not bool(memory_valid.any(dim=-1).all()):
            raise ValueError("memory_valid: every clip needs at least one valid memory frame")

    def _check_tokens(
        self, tokens: torch.Tensor, token_lengths: torch.Tensor, batch: int
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Validate; returns ``tokens`` cut to the longest caption and its ``(B, L)`` mask."""
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
        if bool((token_lengths < 0).any()) or bool((token_lengths > tokens.size(1)).any()):
            raise ValueError(
                f"token_lengths must lie in [0, {tokens.size(1)}] (the width of tokens), "
                f"got {token_lengths.tolist()}"
            )
        longest = int(token_lengths.max()) if batch > 0 else 0
        if longest + 1 > self.max_length:
            raise ValueError(
                f"a caption of {longest} tokens plus <sos/eos> exceeds the decoder's "
                f"max_length {self.max_length}; truncate captions in preprocessing"
            )
        tokens = tokens[:, :longest].long()
        real = torch.arange(longest, device=tokens.device)[None, :] < token_lengths[:, None]
        real_ids = tokens[real]
        if bool(((real_ids < 0) | (real_ids >= self.sos_eos)).any()):
            raise ValueError(
                f"tokens: caption ids must lie in [0, {self.sos_eos - 1}] (no padding inside "
                f"token_lengths, no <sos/eos>={self.sos_eos}, vocab_size {self.vocab_size})"
            )
        return tokens, real


class CachedDecodingSession:
    """Decodes hypotheses over ``B`` clips one token at a time with a key/value cache.

    Implements ``beam_search.DecodingSession``: the cross-attention keys and values are
    computed once per clip and shared by all hypotheses of that clip.
    """

    def __init__(
        self, decoder: TransformerCaptionDecoder, memory: torch.Tensor, memory_valid: torch.Tensor
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
        return at_least_float32(logits[:, 0]).log_softmax(dim=-1)

    def reorder(self, index: torch.Tensor) -> None:
        """Hypothesis ``i`` continues hypothesis ``index[i]`` (of the same clip)."""
        self.past = [(keys[index], values[index]) for keys, values in self.past]
