"""Data-loader preprocessing for SLAP: mono audio, and each caption tokenized twice.

* ``speech``: float32 mono waveform (multi-channel input is averaged).
* ``text``: the caption as ids of the text encoder's own tokenizer.
* ``caption``: the same caption as ids of the caption decoder's ESPnet token list (only when a
  token list is given).
"""

from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np
from espnet2.text.build_tokenizer import build_tokenizer
from espnet2.text.token_id_converter import TokenIDConverter
from espnet2.train.preprocessor import AbsPreprocessor

from espnet2_slap.text.abs_text_encoder import TextTokenizer


class SLAPPreprocessor(AbsPreprocessor):
    """Turns one utterance's raw data into model inputs.

    Args:
        train: training mode (unused; kept for ESPnet's interface).
        text_tokenizer: caption -> ids for the text encoder.
        token_list: caption decoder token list (file or list); None skips ``caption``.
        token_type: ESPnet tokenizer type for the decoder (``bpe``, ``char``, ``word``).
        bpemodel: sentencepiece model when ``token_type == "bpe"``.
        max_caption_tokens: longer decoder captions are cut to this many tokens.
        speech_name, text_name, caption_name: data names.
    """

    def __init__(
        self,
        train: bool,
        text_tokenizer: Optional[TextTokenizer],
        token_list: Optional[Union[str, Path, List[str]]] = None,
        token_type: str = "bpe",
        bpemodel: Optional[Union[str, Path]] = None,
        max_caption_tokens: Optional[int] = None,
        speech_name: str = "speech",
        text_name: str = "text",
        caption_name: str = "caption",
    ):
        super().__init__(train)
        self.text_tokenizer = text_tokenizer
        self.speech_name = speech_name
        self.text_name = text_name
        self.caption_name = caption_name
        self.max_caption_tokens = max_caption_tokens
        if token_list is not None:
            if token_type == "bpe" and bpemodel is None:
                raise ValueError("token_type 'bpe' needs --bpemodel for the caption tokenizer")
            self.caption_tokenizer = build_tokenizer(token_type=token_type, bpemodel=bpemodel)
            self.caption_ids = TokenIDConverter(token_list=token_list, unk_symbol="<unk>")
        else:
            self.caption_tokenizer = None
            self.caption_ids = None

    def __call__(self, uid: str, data: Dict[str, Union[str, np.ndarray]]) -> Dict[str, np.ndarray]:
        if self.speech_name in data:
            data[self.speech_name] = mono_waveform(data[self.speech_name], uid)
        if self.text_name in data and isinstance(data[self.text_name], str):
            caption = data[self.text_name]
            if self.text_tokenizer is not None:
                data[self.text_name] = np.asarray(self.text_tokenizer(caption), dtype=np.int64)
            if self.caption_tokenizer is not None:
                ids = self.caption_ids.tokens2ids(self.caption_tokenizer.text2tokens(caption))
                data[self.caption_name] = np.asarray(ids[: self.max_caption_tokens], dtype=np.int64)
        return data


def mono_waveform(wave: np.ndarray, uid: str) -> np.ndarray:
    """``(T,)`` or ``(T, C)`` samples -> ``(T,)`` float32; rejects empty or non-finite audio."""
    wave = np.asarray(wave)
    if wave.ndim == 2:
        wave = wave.mean(axis=1)
    elif wave.ndim != 1:
        raise ValueError(f"utterance {uid!r}: expected (T,) or (T, C) audio, got {wave.shape}")
    if wave.size == 0:
        raise ValueError(f"utterance {uid!r}: empty audio")
    if not np.isfinite(wave).all():
        raise ValueError(f"utterance {uid!r}: audio has NaN or inf samples")
    return wave.astype(np.float32, copy=False)
