"""The SLAP audio encoder as an ESPnet ``AbsEncoder``, for ESPnet's classification task.

    feats (B, T, F) -> SLAPAudioEncoder -> packed tokens (N, W)
        pooling=map : -> MAP pooling (as in the SLAP model) -> (B, 1, D), lengths 1
        pooling=none: -> padded tokens (B, L, W) for the decoder's own pooling (mean/max)

ESPnet's ``LinearDecoder`` then averages over the length axis (a no-op on MAP's single
vector) and applies the linear head. With ``freeze=True`` (linear probing) the encoder and
its pooling get no gradient and stay in eval mode whatever ``model.train()`` asks.
"""

from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from espnet2.asr.encoder.abs_encoder import AbsEncoder

from espnet2_slap.audio.slap_encoder import SLAPAudioEncoder
from espnet2_slap.layers.attention_pooling import AttentionPooling

POOLINGS = ("map", "none")


class SLAPClsEncoder(AbsEncoder):
    """SLAP ViT audio encoder (+ MAP pooling) for ``CLSTask``.

    Args:
        input_size: mel bins of the frontend (given by the task).
        encoder_conf: :class:`SLAPAudioEncoder` options (the SLAP model's ``audio_encoder_conf``).
        embed_dim: output width of the MAP pooling (the SLAP model's ``model_conf.embed_dim``).
        pooling_heads: heads of the MAP pooling (``model_conf.pooling_heads``).
        pooling: ``map`` (the SLAP model's pooled embedding) or ``none`` (dense tokens).
        l2_normalize: L2-normalise the MAP output, exactly the SLAP audio embedding.
        freeze: linear probe: no gradient to the encoder and pooling, kept in eval mode.
    """

    def __init__(
        self,
        input_size: int,
        encoder_conf: Optional[Dict] = None,
        embed_dim: int = 512,
        pooling_heads: int = 8,
        pooling: str = "map",
        l2_normalize: bool = False,
        freeze: bool = False,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"encoder_conf pooling must be one of {POOLINGS}, got {pooling!r}")
        if l2_normalize and pooling != "map":
            raise ValueError("encoder_conf l2_normalize needs pooling: map")
        self.encoder = SLAPAudioEncoder(input_size=input_size, **(encoder_conf or {}))
        # The mask token only serves the SSL objective: tagging never reads it.
        self.encoder.mask_token.requires_grad_(False)
        self.pooling = (
            AttentionPooling(self.encoder.output_size(), embed_dim, pooling_heads)
            if pooling == "map"
            else None
        )
        self.l2_normalize = l2_normalize
        self.freeze = freeze
        if freeze:
            self.requires_grad_(False)
            self.eval()

    def output_size(self) -> int:
        return self.pooling.proj.out_features if self.pooling is not None else self.encoder.output_size()

    def train(self, mode: bool = True) -> "SLAPClsEncoder":
        """A frozen encoder stays in eval mode."""
        return super().train(mode and not self.freeze)

    def forward(
        self,
        xs_pad: torch.Tensor,
        ilens: torch.Tensor,
        prev_states: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor, None]:
        """``(B, T, F)`` features -> ``(B, 1, D)`` pooled (map) or ``(B, L, W)`` tokens (none)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze):
            tokens = self.encoder(xs_pad, ilens)  # packed (N, W)
            padded, valid = tokens.to_padded()  # (B, L, W), (B, L) True on real tokens
            if self.pooling is None:
                return padded, tokens.lengths.to(padded.device), None
            pooled = self.pooling(padded, valid)  # (B, D)
            if self.l2_normalize:
                pooled = F.normalize(pooled, dim=-1)
        lengths = torch.ones(pooled.size(0), dtype=torch.long, device=pooled.device)
        return pooled[:, None], lengths, None

    # ------------------------------------------------------------------ layer-wise lr decay
    @property
    def num_lr_layers(self) -> int:
        """Depth for layer-wise lr decay: patch embedding = 0, blocks 1..L, the rest L + 1."""
        return len(self.encoder.blocks) + 1

    def lr_layer_id(self, name: str) -> int:
        """Layer index of parameter ``name`` (relative to this module) for lr decay."""
        if name.startswith(("encoder.patch_embed.", "encoder.mask_token")):
            return 0
        if name.startswith("encoder.blocks."):
            return int(name.split(".")[2]) + 1
        return self.num_lr_layers  # final norm, pooling
