"""The SLAP encoder run on the padded batch: the baseline that packing is measured against.

Same parameters and outputs as :class:`SLAPAudioEncoder` (``tests/test_slap_encoder.py``), but
every clip is padded to the longest one and attention masks the padding; used by
``tools/bench/bench_packing.py`` and the tests, never by training or inference.
"""

import torch

from espnet2_slap.audio.slap_encoder import SLAPAudioEncoder
from espnet2_slap.layers.packed_batch import PackedBatch
from espnet2_slap.layers.transformer_block import PaddedLayout


class PaddedBaselineEncoder(SLAPAudioEncoder):
    """:class:`SLAPAudioEncoder` with its blocks run on ``(B, L_max, D)`` padded tokens."""

    def _run_blocks(self, x, cos, sin, patches: PackedBatch) -> torch.Tensor:
        x, valid = patches.with_values(x).to_padded()  # (B, L, D), (B, L) True on tokens
        cos, _ = patches.with_values(cos).to_padded()
        sin, _ = patches.with_values(sin).to_padded()
        layout = PaddedLayout(valid)
        for block in self.blocks:
            x = self._run_block(block, x, cos, sin, layout)
        return x[valid]  # (N, D)
