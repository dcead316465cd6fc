"""Any ESPnet2 ASR encoder (Conformer, Transformer, E-Branchformer, ...) as a SLAP audio encoder.

GLAP's point is that the alignment recipe works with other audio encoders; this adapter
lets a config pick one of ESPnet's (``audio_encoder: espnet`` with
``audio_encoder_conf: {encoder: conformer, encoder_conf: {...}}``). These encoders run on the
padded batch and cannot mask input tokens, so they train without the SSL objective.
"""

from typing import Any, Dict, Optional

import torch

from espnet2_slap.audio.abs_audio_encoder import AbsAudioEncoder
from espnet2_slap.layers.packed_batch import PackedBatch


class ESPnetEncoderAdapter(AbsAudioEncoder):
    """Wraps ``espnet2.tasks.asr.encoder_choices[encoder](input_size, **encoder_conf)``.

    Args:
        input_size: feature dimension (set by the task from the frontend).
        encoder: name of an ESPnet ASR encoder, e.g. ``conformer``.
        encoder_conf: its constructor options.
    """

    def __init__(
        self, input_size: int, encoder: str = "conformer", encoder_conf: Optional[Dict[str, Any]] = None
    ):
        super().__init__()
        from espnet2.tasks.asr import encoder_choices

        self.encoder = encoder_choices.get_class(encoder)(input_size=input_size, **(encoder_conf or {}))

    def output_size(self) -> int:
        return self.encoder.output_size()

    def forward(
        self,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        token_mask: Optional[torch.Tensor] = None,
    ) -> PackedBatch:
        if token_mask is not None:
            raise ValueError(f"{type(self.encoder).__name__} cannot mask input tokens")
        out, out_lengths, _ = self.encoder(feats, feats_lengths)
        return PackedBatch.from_padded(out, out_lengths)
