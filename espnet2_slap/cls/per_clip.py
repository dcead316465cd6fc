"""ESPnet's frontend and SpecAugment run clip by clip, as the SLAP model runs them.

In a padded batch ESPnet's ``DefaultFrontend`` frames every clip but the longest over zero
padding, and ``SpecAug`` draws time masks relative to the padded length; the SLAP model
therefore computes both per clip (:mod:`espnet2_slap.audio.features`). These wrappers give
ESPnet's classification model the same behaviour, so a clip gets the same features in any
batch, in training and at inference (where ESPnet classifies one clip at a time).
"""

from typing import Optional, Tuple

import torch
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.frontend.default import DefaultFrontend
from espnet2.asr.specaug.abs_specaug import AbsSpecAug
from espnet2.asr.specaug.specaug import SpecAug

from espnet2_slap.audio.features import per_clip_frontend, per_clip_specaug


class PerClipFrontend(AbsFrontend):
    """``DefaultFrontend(**conf)`` applied to each clip of the batch on its own samples."""

    def __init__(self, **conf):
        super().__init__()
        self.frontend = DefaultFrontend(**conf)
        self.hop_length = self.frontend.hop_length

    def output_size(self) -> int:
        return self.frontend.output_size()

    def forward(self, input: torch.Tensor, input_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(B, T_wav)`` -> ``(B, T, F)`` features and ``(B,)`` frame counts."""
        return per_clip_frontend(self.frontend, input, input_lengths)


class PerClipSpecAug(AbsSpecAug):
    """``SpecAug(**conf)`` with each clip's masks drawn from its own length."""

    def __init__(self, **conf):
        super().__init__()
        self.specaug = SpecAug(**conf)

    def forward(
        self, x: torch.Tensor, x_lengths: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        if x_lengths is None:
            x_lengths = torch.full((x.size(0),), x.size(1), dtype=torch.long, device=x.device)
        return per_clip_specaug(self.specaug, x, x_lengths)
