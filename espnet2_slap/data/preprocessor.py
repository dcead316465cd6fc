"""Data-loader preprocessing for SLAP: mono audio, and each caption tokenized twice.

* ``speech``: float32 mono waveform (multi-channel input is averaged); clips longer than
  ``crop_seconds`` are cut to one window of that length.
* ``captions`` (optional input): every caption of the clip as a JSON list (a data dir's
  ``utt2captions``); one of them becomes ``text``.
* ``text``: the caption as ids of the text encoder's own tokenizer.
* ``caption``: the same caption as ids of the caption decoder's ESPnet token list (only when a
  token list is given).

Random draws in training (which caption, where the window starts) are a function of
``(seed, data pass, utterance id)`` only: they repeat under the same seed, differ between
passes over the data (also two passes inside one ``--num_iters_per_epoch`` epoch), and do not
depend on the batch, the worker process or the load order. Outside training the first caption
(``text``) and the first window are used.

The work is split in two so that the draws happen after ESPnet's dataset cache
(``--max_cache_size``), which keeps what the dataset's preprocessing returns:
:meth:`SLAPPreprocessor.prepare` (deterministic: mono audio, every caption tokenized) runs
inside the dataset and is cached; :meth:`SLAPPreprocessor.draw` (one caption, one window)
runs on every load in :class:`PerLoadDraws`, which wraps the dataset. The iterators tell it the
data pass with each key: ``dataset[(utt_id, data_pass)]`` (:func:`with_data_pass`).
"""

import json
import zlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from espnet2.iterators.abs_iter_factory import AbsIterFactory
from espnet2.text.token_id_converter import TokenIDConverter
from espnet2.train.dataset import AbsDataset
from torch.utils.data import DataLoader

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
        fs: sample rate of ``speech`` (turns ``crop_seconds`` into samples); the frame rate
            when ``speech`` holds features.
        speech_is_features: ``speech`` is ``(frames, bins)`` dumped log-mels
            (``--feats_type fbank``), not a waveform: kept as it is, cropped in frames.
        seed: seed of the random draws (with the data pass and the utterance id).
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
        fs: float = 16000,
        speech_is_features: bool = False,
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
        self.speech_is_features = speech_is_features
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
        """The data pass (from 1) of direct calls (:meth:`__call__`); iterators pass their own."""
        self.epoch = int(epoch)

    def __call__(self, uid: str, data: Dict[str, Union[str, np.ndarray]]) -> Dict[str, np.ndarray]:
        """:meth:`prepare` then :meth:`draw` for data pass ``self.epoch``."""
        return self.draw(uid, self.prepare(uid, data), self.epoch)

    def prepare(self, uid: str, data: Dict[str, Union[str, np.ndarray]]) -> Dict[str, Any]:
        """The deterministic part (what a dataset cache may keep): mono audio, and each of the
        clip's captions tokenized as a candidate (``text#k`` / ``caption#k``)."""
        if self.captions_name in data:
            captions = parse_captions(data.pop(self.captions_name), uid)
            if len(captions) == 1:
                data[self.text_name] = captions[0]
            else:
                data.pop(self.text_name, None)  # one of the captions replaces it
                for k, caption in enumerate(captions):
                    data.update(self._tokenized(caption, f"{CANDIDATE}{k}"))
        if self.speech_name in data:
            if self.speech_is_features:
                data[self.speech_name] = features_matrix(data[self.speech_name], uid)
            else:
                data[self.speech_name] = mono_waveform(data[self.speech_name], uid)
        if self.text_name in data and isinstance(data[self.text_name], str):
            data.update(self._tokenized(data.pop(self.text_name)))
        return data

    def draw(self, uid: str, data: Dict[str, Any], data_pass: int) -> Dict[str, Any]:
        """This load's random part: one caption of the candidates, one window of the audio."""
        candidates = sorted(int(k.rsplit(CANDIDATE, 1)[1]) for k in data
                            if k.startswith(self.text_name + CANDIDATE))
        if candidates:
            chosen = 0
            if self.train:
                chosen = int(self.rng(uid, 0, data_pass).integers(len(candidates)))
            for name in (self.text_name, self.caption_name):
                for k in candidates:
                    value = data.pop(f"{name}{CANDIDATE}{k}", None)
                    if k == chosen and value is not None:
                        data[name] = value
        if self.speech_name in data:
            data[self.speech_name] = self.crop(uid, data[self.speech_name], data_pass)
        return data

    def _tokenized(self, caption: str, suffix: str = "") -> Dict[str, Any]:
        """One caption as ids of the text encoder (and of the caption decoder)."""
        out: Dict[str, Any] = {self.text_name + suffix: caption}
        if self.text_tokenizer is not None:
            ids = self.text_tokenizer(caption)
            out[self.text_name + suffix] = np.asarray(ids, dtype=np.int64)
        if self.caption_tokenizer is not None:
            ids = self.caption_ids.tokens2ids(self.caption_tokenizer.text2tokens(caption))
            out[self.caption_name + suffix] = np.asarray(ids[: self.max_caption_tokens],
                                                         dtype=np.int64)
        return out

    def rng(self, uid: str, purpose: int, data_pass: Optional[int] = None) -> np.random.Generator:
        """The generator of one draw: a function of (seed, data pass, uid, purpose) only."""
        data_pass = self.epoch if data_pass is None else data_pass
        return np.random.default_rng([abs(self.seed), int(data_pass),
                                      zlib.crc32(uid.encode("utf-8")), purpose])

    def crop(self, uid: str, wave: np.ndarray, data_pass: Optional[int] = None) -> np.ndarray:
        """``(T, ...)`` -> at most ``crop_samples`` along T: a random window in training, else
        the first."""
        if self.crop_samples is None or len(wave) <= self.crop_samples:
            return wave
        start = 0
        if self.train:
            start = int(self.rng(uid, 1, data_pass).integers(len(wave) - self.crop_samples + 1))
        return wave[start : start + self.crop_samples]


CANDIDATE = "#"  # ``text#2``: the third caption of a clip, tokenized, before the draw


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


class PerLoadDraws(AbsDataset):
    """``dataset[(utt_id, data_pass)]``: the dataset's (possibly cached) prepared item, then
    the draws of that load (:meth:`SLAPPreprocessor.draw`).

    A plain ``utt_id`` draws for the preprocessor's ``epoch`` (validation draws nothing).

    Args:
        dataset: ESPnet's dataset built with ``preprocessor.prepare`` as its preprocessing.
        preprocessor: the task's :class:`SLAPPreprocessor`.
    """

    takes_data_pass = True  # the iterators hand ``(utt_id, data_pass)`` keys to this dataset

    def __init__(self, dataset: AbsDataset, preprocessor: SLAPPreprocessor):
        self.dataset = dataset
        self.preprocessor = preprocessor

    def __getitem__(self, key: Union[str, Tuple[str, int]]) -> Tuple[str, Dict[str, Any]]:
        uid, data_pass = key if isinstance(key, tuple) else (key, self.preprocessor.epoch)
        uid, data = self.dataset[uid]
        return uid, self.preprocessor.draw(uid, dict(data), data_pass)  # the cache stays

    def has_name(self, name) -> bool:
        return self.dataset.has_name(name)

    def names(self) -> Tuple[str, ...]:
        return self.dataset.names()

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str) -> Any:
        if name in ("dataset", "preprocessor"):  # not set yet (e.g. while unpickling)
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(\n{self.dataset})"


def with_data_pass(batches: Sequence[Sequence[str]], passes: Sequence[int]) -> List[List[tuple]]:
    """Batches of ``(utt_id, data_pass)`` keys: batch ``i`` belongs to ``passes[i]``."""
    return [[(uid, int(p)) for uid in batch] for batch, p in zip(batches, passes)]


class DataPassIterFactory(AbsIterFactory):
    """ESPnet's sequence iterator factory, each key tagged with its data pass.

    ESPnet's ``SequenceIterFactory`` runs the passes over its batches one after the other
    and, with ``--num_iters_per_epoch n``, gives epoch ``e`` the stream's batches
    ``[(e - 1) * n, e * n)``: batch ``i`` of the epoch lies in pass ``((e - 1) * n + i) //
    len(batches) + 1``. Without it epoch ``e`` is pass ``e``.
    """

    def __init__(self, factory: AbsIterFactory):
        self.factory = factory

    def build_iter(self, epoch: int, shuffle: Optional[bool] = None):
        loader = self.factory.build_iter(epoch, shuffle)
        if not getattr(loader.dataset, "takes_data_pass", False):
            return loader
        batches = list(loader.batch_sampler)
        per_epoch = getattr(self.factory, "num_iters_per_epoch", None)
        if per_epoch is None:
            passes = [epoch] * len(batches)
        else:
            size = len(self.factory.sampler)
            passes = [((epoch - 1) * per_epoch + i) // size + 1 for i in range(len(batches))]
        return DataLoader(
            dataset=loader.dataset,
            batch_sampler=with_data_pass(batches, passes),
            num_workers=loader.num_workers,
            collate_fn=loader.collate_fn,
            pin_memory=loader.pin_memory,
            worker_init_fn=loader.worker_init_fn,
        )


def features_matrix(feats: np.ndarray, uid: str) -> np.ndarray:
    """A dumped ``(frames, bins)`` feature matrix as float32; anything else is an error."""
    feats = np.asarray(feats)
    if feats.ndim != 2 or feats.shape[0] == 0:
        raise ValueError(f"{uid}: speech features must be a (frames, bins) matrix, "
                         f"got shape {feats.shape}")
    return feats.astype(np.float32, copy=False)


def mono_waveform(wave: np.ndarray, uid: str) -> np.ndarray:
    """``(T,)`` or ``(T, C)`` samples (ESPnet's sound loader) -> ``(T,)`` float32."""
    return to_mono(wave, channel_axis=1, name=f"utterance {uid!r}")
