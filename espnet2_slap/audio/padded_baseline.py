"""The SLAP encoder run on the padded batch: the baseline that packing is measured against.

Same parameters and outputs as :class:`SLAPAudioEncoder` (``tests/test_slap_encoder.py``), but
every clip is padded to the longest one and attention masks the padding; used by
``tools/bench/bench_packing.py`` and the tests, never by training or inference.
"""

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F

from espnet2_slap.audio.slap_encoder import SLAPAudioEncoder
from espnet2_slap.layers.packed_batch import PackedBatch


def padded_attention(q, k, v, valid: torch.Tensor, window_radius: Optional[int] = None):
    """The packed attention's function on ``(B, L, H, Dh)`` padded tokens.

    ``valid`` ``(B, L)`` is True on real tokens; rows of padded tokens hold finite values to
    be discarded.
    """
    length = q.size(1)
    allowed = valid[:, None, None, :]  # (B, 1, 1, L) key padding
    steps = torch.arange(length, device=q.device)
    distance = (steps[:, None] - steps[None, :]).abs()
    if window_radius is not None:
        allowed = allowed & (distance <= window_radius)[None, None]
    allowed = allowed | ((distance == 0)[None, None] & ~valid[:, None, :, None])
    out = F.scaled_dot_product_attention(
        q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=allowed
    )
    return out.transpose(1, 2)


@dataclass(frozen=True)
class PaddedLayout:
    """Padded batch: ``valid`` ``(B, L)`` bool, True on real tokens."""

    valid: torch.Tensor

    def attend(self, q, k, v, window_radius: Optional[int], backend: str) -> torch.Tensor:
        return padded_attention(q, k, v, self.valid, window_radius)  # always SDPA


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
