"""Data-loader preprocessing for SLAP: mono audio, and each caption tokenized twice.

* ``speech``: float32 mono waveform (multi-channel input is averaged); clips longer than
  ``crop_seconds`` are cut to one window of that length.
* ``captions`` (optional input): every caption of the clip as a JSON list (a data dir's
  ``utt2captions``); one of them becomes ``text``.
* ``text``: the caption as ids of the text encoder's own tokenizer.
* ``caption``: the same caption as ids of the caption decoder's ESPnet token list (only when a
  token list is given).

Random draws in training (which caption, where the window starts) are a function of
``(seed, epoch, utterance id)`` only: they repeat under the same seed, differ between epochs,
and do not depend on the batch, the worker process or the load order. The epoch reaches the
preprocessor through :class:`EpochSeededIterFactory`, which the task wraps around every
iterator factory. Outside training the first caption (``text``) and the first window are used.
"""

import json
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np
from espnet2.iterators.abs_iter_factory import AbsIterFactory
from espnet2.text.token_id_converter import TokenIDConverter

from espnet2_slap.text.abs_text_encoder import TextTokenizer
from espnet2_slap.text.caption_tokenizer import build_caption_tokenizer
from espnet2_slap.utils.waveform import to_mono


class SLAPPreprocessor:
    """Turns one utterance's raw data into model inputs.

    Args:
        train: training mode: captions and crop windows are drawn at random (seeded);
            otherwise the first caption and the first window are taken.
        text_tokenizer: caption -> ids for the text encoder.
        token_list: caption decoder token list (file or list); None skips ``caption``.
        token_type: ESPnet tokenizer type for the decoder (``bpe``, ``char``, ``word``).
        bpemodel: sentencepiece model when ``token_type == "bpe"``.
        max_caption_tokens: longer decoder captions are cut to this many tokens.
        speech_name, text_name, caption_name, captions_name: data names.
        crop_seconds: clips longer than this are cut to a window of this length (None: never).
        fs: sample rate of ``speech`` (turns ``crop_seconds`` into samples).
        seed: seed of the random draws (with the epoch and the utterance id).
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
        captions_name: str = "captions",
        crop_seconds: Optional[float] = None,
        fs: int = 16000,
        seed: int = 0,
    ):
        self.train = train
        if crop_seconds is not None and crop_seconds <= 0:
            raise ValueError(f"crop_seconds must be positive or None, got {crop_seconds}")
        self.captions_name = captions_name
        self.crop_samples = None if crop_seconds is None else int(round(crop_seconds * fs))
        self.seed = int(seed)
        self.epoch = 1
        self.text_tokenizer = text_tokenizer
        self.speech_name = speech_name
        self.text_name = text_name
        self.caption_name = caption_name
        self.max_caption_tokens = max_caption_tokens
        if token_list is not None:
            if token_type == "bpe" and bpemodel is None:
                raise ValueError("token_type 'bpe' needs --bpemodel for the caption tokenizer")
            self.caption_tokenizer = build_caption_tokenizer(token_type, bpemodel)
            self.caption_ids = TokenIDConverter(token_list=token_list, unk_symbol="<unk>")
        else:
            self.caption_tokenizer = None
            self.caption_ids = None

    def set_epoch(self, epoch: int) -> None:
        """The epoch (from 1) whose clips are loaded next; part of every random draw."""
        self.epoch = int(epoch)

    def __call__(self, uid: str, data: Dict[str, Union[str, np.ndarray]]) -> Dict[str, np.ndarray]:
        if self.captions_name in data:
            data[self.text_name] = self.pick_caption(uid, data.pop(self.captions_name))
        if self.speech_name in data:
            data[self.speech_name] = self.crop(uid, mono_waveform(data[self.speech_name], uid))
        if self.text_name in data and isinstance(data[self.text_name], str):
            caption = data[self.text_name]
            if self.text_tokenizer is not None:
                data[self.text_name] = np.asarray(self.text_tokenizer(caption), dtype=np.int64)
            if self.caption_tokenizer is not None:
                ids = self.caption_ids.tokens2ids(self.caption_tokenizer.text2tokens(caption))
                data[self.caption_name] = np.asarray(ids[: self.max_caption_tokens], dtype=np.int64)
        return data

    def rng(self, uid: str, purpose: int) -> np.random.Generator:
        """The generator of one draw: a function of (seed, epoch, uid, purpose) only."""
        return np.random.default_rng([abs(self.seed), self.epoch,
                                      zlib.crc32(uid.encode("utf-8")), purpose])

    def pick_caption(self, uid: str, captions_json: str) -> str:
        """One caption of a clip's JSON list: drawn in training, the first one otherwise."""
        captions = parse_captions(captions_json, uid)
        if not self.train or len(captions) == 1:
            return captions[0]
        return captions[int(self.rng(uid, 0).integers(len(captions)))]

    def crop(self, uid: str, wave: np.ndarray) -> np.ndarray:
        """``(T,)`` -> at most ``crop_samples``: a random window in training, else the first."""
        if self.crop_samples is None or len(wave) <= self.crop_samples:
            return wave
        start = 0
        if self.train:
            start = int(self.rng(uid, 1).integers(len(wave) - self.crop_samples + 1))
        return wave[start : start + self.crop_samples]


def parse_captions(captions_json: str, uid: str) -> List[str]:
    """A ``utt2captions`` value (JSON list of non-empty strings) as a list."""
    try:
        captions = json.loads(captions_json)
    except ValueError:
        captions = None
    if (not isinstance(captions, list) or not captions
            or not all(isinstance(c, str) and c.strip() for c in captions)):
        raise ValueError(
            f"utterance {uid!r}: the captions entry must be a JSON list of non-empty strings "
            f"(utt2captions: utt_id [\"caption 1\", \"caption 2\"]), got {captions_json[:80]!r}"
        )
    return captions


class EpochSeededIterFactory(AbsIterFactory):
    """Wraps an iterator factory: tells the preprocessor the epoch before building its loader.

    Loader workers start when the returned loader is iterated, so they copy the epoch too.
    """

    def __init__(self, factory: AbsIterFactory, preprocess_fn):
        self.factory = factory
        self.preprocess_fn = preprocess_fn

    def build_iter(self, epoch: int, shuffle: Optional[bool] = None):
        if hasattr(self.preprocess_fn, "set_epoch"):
            self.preprocess_fn.set_epoch(epoch)
        return self.factory.build_iter(epoch, shuffle)


def mono_waveform(wave: np.ndarray, uid: str) -> np.ndarray:
    """``(T,)`` or ``(T, C)`` samples (ESPnet's sound loader) -> ``(T,)`` float32."""
    return to_mono(wave, channel_axis=1, name=f"utterance {uid!r}")
