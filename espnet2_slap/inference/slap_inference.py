"""SLAPInference: embed, classify, retrieve and caption with a trained SLAP model.

The counterpart of ESPnet's ``Speech2Text`` for SLAP::

    from espnet2_slap.inference import SLAPInference

    slap = SLAPInference.from_pretrained("exp/slap_tiny/packed_model.zip")  # or a model-zoo tag
    audio = slap.embed_audio(["dog.wav", "bell.flac"])          # (2, D), L2-normalised
    text = slap.embed_text(["a dog barks", "a bell rings"])     # (2, D)
    slap.similarity(audio, text)                                # (2, 2) cosine
    slap.classify("dog.wav", ["dog", "bell", "piano"])          # [[("dog", 0.93), ...]]
    slap.caption("dog.wav")                                     # ["a dog barks twice"]

Audio embeddings do not depend on how clips are batched: features are computed clip by
clip and the packed encoder keeps clips apart exactly, so a clip gets the same embedding
alone or among others. Long clips are handled as documented in ``long_audio``.
"""

from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from espnet2.text.token_id_converter import TokenIDConverter

from espnet2_slap.audio.features import frontend_sample_rate
from espnet2_slap.inference.audio_input import (
    AudioFileWindows,
    AudioLike,
    load_waveform,
    open_audio,
)
from espnet2_slap.inference.embedding_index import EmbeddingIndex
from espnet2_slap.inference.long_audio import chunk_spans, merge_chunk_embeddings
from espnet2_slap.inference.prompts import Templates, class_text_embeddings
from espnet2_slap.tasks.slap import SLAPTask, text_encoder_choices
from espnet2_slap.text.caption_tokenizer import build_caption_tokenizer
from espnet2_slap.utils.model_source import resolve_slap_model



class SLAPInference:
    """A trained SLAP model ready for inference.

    Args:
        slap_train_config: the training ``config.yaml``.
        slap_model_file: the ``.pth`` weights (None keeps the freshly built weights).
        device: ``cpu`` or ``cuda[:N]``.
        batch_tokens: audio patch tokens per encoder call. It bounds the memory of embedding
            (a long file is read and encoded window by window, so its duration does not):
            4096 tokens, 5 windows of 30 s, take about 0.1 GB with the demo model on a CPU
            (docs/benchmarks.md). Raise it on a GPU for throughput.
        max_native_seconds: clips up to this long are encoded whole.
        chunk_seconds, chunk_hop_seconds: windows for longer clips.
        text_batch_size: captions per text-encoder call.
    """

    def __init__(
        self,
        slap_train_config: Union[str, Path],
        slap_model_file: Optional[Union[str, Path]] = None,
        device: str = "cpu",
        batch_tokens: int = 4096,
        max_native_seconds: float = 30.0,
        chunk_seconds: float = 30.0,
        chunk_hop_seconds: float = 15.0,
        text_batch_size: int = 64,
    ):
        for path in (slap_train_config, slap_model_file):
            if path is not None and not Path(path).is_file():
                raise FileNotFoundError(f"no such file: {path}")
        model, args = SLAPTask.build_model_from_file(slap_train_config, slap_model_file, device)
        self.model = model.eval()
        self.train_args = args
        self.device = torch.device(device)
        self.batch_tokens = batch_tokens
        self.text_batch_size = text_batch_size

        frontend_conf = args.frontend_conf or {}
        self.sample_rate = frontend_sample_rate(frontend_conf)
        self.min_samples = int(frontend_conf.get("n_fft", 512))
        self.max_native_samples = int(max_native_seconds * self.sample_rate)
        self.chunk_samples = int(chunk_seconds * self.sample_rate)
        self.chunk_hop_samples = int(chunk_hop_seconds * self.sample_rate)

        text_encoder_class = text_encoder_choices.get_class(args.text_encoder)
        self.text_tokenizer = text_encoder_class.build_tokenizer(**args.text_encoder_conf)
        self.caption_tokenizer = None
        if model.caption_decoder is not None:
            self.caption_tokenizer = build_caption_tokenizer(args.token_type, args.bpemodel)
            self.caption_ids = TokenIDConverter(token_list=model.token_list, unk_symbol="<unk>")

    @classmethod
    def from_pretrained(
        cls,
        model_tag: str,
        cache_dir: Optional[Union[str, Path]] = None,
        **kwargs,
    ) -> "SLAPInference":
        """Load a model: a packed ``.zip`` from ``slap_pack``, a model-zoo tag (network), an
        experiment directory or a ``.pth`` beside its ``config.yaml``.

        A local archive is unpacked under ``cache_dir`` in a folder named by its content hash.
        """
        config, weights = resolve_slap_model(model_tag, cache_dir, option="model")
        return cls(config, weights, **kwargs)

    # ------------------------------------------------------------------ audio
    @torch.no_grad()
    def embed_audio(
        self, audio: Union[AudioLike, Sequence[AudioLike]], sample_rate: Optional[int] = None
    ) -> np.ndarray:
        """``(N, D)`` L2-normalised embeddings of one input or a list of inputs.

        Args:
            audio: file path(s) or array(s); see ``audio_input`` for accepted forms.
            sample_rate: the rate of array inputs.
        """
        clips = [self.open(a, sample_rate) for a in _as_list(audio)]
        if not clips:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        owners = []  # clip index of each window, in encoding order

        def windows():  # read lazily: a long file is never held whole
            for i, clip in enumerate(clips):
                if isinstance(clip, AudioFileWindows):
                    parts = clip.windows(chunk_spans(
                        clip.num_samples, self.chunk_samples, self.chunk_hop_samples))
                else:
                    parts = (clip[s:e] for s, e in self._windows(clip, self.chunk_hop_samples))
                for part in parts:
                    owners.append(i)
                    yield part

        chunk_embeddings = torch.cat(
            [self.model.pool_audio(tokens) for tokens in self._encode_in_packs(windows())]
        )
        owner = torch.tensor(owners)
        merged = [merge_chunk_embeddings(chunk_embeddings[owner == i]) for i in range(len(clips))]
        return torch.stack(merged).float().cpu().numpy()

    def load(self, audio: AudioLike, sample_rate: Optional[int] = None) -> torch.Tensor:
        """One input -> ``(T,)`` float32 mono waveform at the model rate."""
        return load_waveform(audio, sample_rate, self.sample_rate, self.min_samples)

    def open(
        self, audio: AudioLike, sample_rate: Optional[int] = None
    ) -> Union[torch.Tensor, AudioFileWindows]:
        """:meth:`load`, but a file longer than ``max_native_seconds`` is an
        ``AudioFileWindows`` that ``embed_audio`` reads window by window."""
        return open_audio(
            audio, sample_rate, self.sample_rate, self.min_samples, self.max_native_samples
        )

    def _windows(self, wave: torch.Tensor, hop_samples: int) -> List[Tuple[int, int]]:
        """The whole clip when it is short enough, else ``chunk_seconds`` windows."""
        if wave.numel() <= self.max_native_samples:
            return [(0, wave.numel())]
        return chunk_spans(wave.numel(), self.chunk_samples, hop_samples)

    def _features(self, wave: torch.Tensor) -> torch.Tensor:
        """``(T,)`` waveform -> ``(T_frames, F)`` normalised features of this clip alone."""
        speech = wave.to(self.device)[None]
        feats, _ = self.model.extract_feats(speech, torch.tensor([wave.numel()], device=self.device))
        return feats[0]

    def _encode_in_packs(self, waves: Iterable[torch.Tensor]):
        """Yield packed encoder outputs for consecutive groups of clips within the budget.

        ``waves`` is consumed lazily: only the features of the group being packed are held.
        """
        pack, lengths, budget = [], [], 0
        for wave in waves:
            feats = self._features(wave)
            tokens = int(self.model.num_audio_tokens(torch.tensor([feats.size(0)]))[0])
            if pack and budget + tokens > self.batch_tokens:
                yield self._encode_pack(pack, lengths)
                pack, lengths, budget = [], [], 0
            pack.append(feats)
            lengths.append(feats.size(0))
            budget += tokens
        if pack:
            yield self._encode_pack(pack, lengths)

    def _encode_pack(self, feats: List[torch.Tensor], lengths: List[int]):
        batch = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)
        return self.model.audio_encoder(batch, torch.tensor(lengths, device=self.device))

    # ------------------------------------------------------------------ text
    @torch.no_grad()
    def embed_text(self, texts: Union[str, Sequence[str]]) -> np.ndarray:
        """``(N, D)`` L2-normalised embeddings of one caption or a list of captions."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        out = []
        for start in range(0, len(texts), self.text_batch_size):
            ids = [torch.tensor(self.text_tokenizer(t)) for t in texts[start : start + self.text_batch_size]]
            lengths = torch.tensor([len(x) for x in ids], device=self.device)
            padded = torch.nn.utils.rnn.pad_sequence(ids, batch_first=True, padding_value=-1)
            out.append(self.model.embed_text(padded.to(self.device), lengths))
        if not out:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        return torch.cat(out).float().cpu().numpy()

    @property
    def embed_dim(self) -> int:
        return self.model.embed_dim

    # ------------------------------------------------------------------ tasks
    @staticmethod
    def similarity(audio_embeddings: np.ndarray, text_embeddings: np.ndarray) -> np.ndarray:
        """``(N_audio, N_text)`` cosine similarities of normalised embeddings."""
        return np.atleast_2d(audio_embeddings) @ np.atleast_2d(text_embeddings).T

    @property
    def logit_scale(self) -> float:
        """``1 / temperature`` learned by the contrastive loss."""
        return float(self.model.logit_scale().detach())

    def classify(
        self,
        audio: Union[AudioLike, Sequence[AudioLike]],
        labels: Sequence[str],
        template: Templates = "the sound of {label}",
        sample_rate: Optional[int] = None,
        top_k: Optional[int] = None,
    ) -> List[List[Tuple[str, float]]]:
        """Zero-shot classification: each clip's labels ranked by probability.

        Each label is embedded as ``template.format(label=label)``; a list of templates is a
        prompt ensemble (see ``prompts.class_text_embeddings``). Probabilities are the
        softmax of the similarities scaled by the learned ``1 / temperature``.
        """
        labels = list(labels)
        if not labels:
            raise ValueError("labels is empty: give at least one class label")
        text = class_text_embeddings(self.embed_text, labels, template)
        scores = self.logit_scale * self.similarity(self.embed_audio(audio, sample_rate), text)
        probs = torch.from_numpy(scores).softmax(dim=-1).numpy()
        k = len(labels) if top_k is None else min(top_k, len(labels))
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        return [[(labels[j], float(row[j])) for j in best] for row, best in zip(probs, order)]

    def index_audio(
        self, items: Dict[str, AudioLike], sample_rate: Optional[int] = None
    ) -> EmbeddingIndex:
        """An :class:`EmbeddingIndex` of named audio inputs (for text-to-audio retrieval)."""
        keys = list(items)
        return EmbeddingIndex(keys, self.embed_audio([items[k] for k in keys], sample_rate))

    def retrieve_audio(
        self,
        queries: Union[str, Sequence[str]],
        index: EmbeddingIndex,
        top_k: int = 10,
        rerank_weight: Optional[float] = None,
        rerank_depth: int = 20,
        audio: Optional[Dict[str, AudioLike]] = None,
    ) -> List[List[Tuple[str, float]]]:
        """Text-to-audio retrieval: best audio keys of the index for each text query.

        With ``rerank_weight`` w, the best ``rerank_depth`` clips are re-ranked by
        ``cosine + w * mean log p(query | clip)`` of the caption decoder (``rerank``);
        ``audio`` maps index keys to their audio (default: the keys are file paths).
        """
        if rerank_weight is None:
            return index.search(self.embed_text(queries), top_k)
        from espnet2_slap.inference.rerank import rerank_search

        return rerank_search(self, queries, index, top_k, rerank_weight, rerank_depth, audio)

    def retrieve_text(
        self,
        audio: Union[AudioLike, Sequence[AudioLike]],
        texts: Sequence[str],
        top_k: int = 10,
        sample_rate: Optional[int] = None,
    ) -> List[List[Tuple[str, float]]]:
        """Audio-to-text retrieval: best of ``texts`` for each clip."""
        texts = list(texts)
        index = EmbeddingIndex(texts, self.embed_text(texts))
        return index.search(self.embed_audio(audio, sample_rate), top_k)

    @torch.no_grad()
    def caption(
        self,
        audio: Union[AudioLike, Sequence[AudioLike]],
        sample_rate: Optional[int] = None,
        beam_size: int = 1,
        max_length: int = 30,
    ) -> List[str]:
        """One caption per clip (greedy when ``beam_size == 1``, else beam search).

        A clip longer than ``max_native_seconds`` is encoded in consecutive windows and the
        decoder attends to the tokens of all of them.
        """
        if self.model.caption_decoder is None:
            raise ValueError("this model has no caption decoder (trained without L_CAP)")
        captions = []
        for a in _as_list(audio):
            memory = self.caption_memory(self.load(a, sample_rate))
            valid = torch.ones(memory.shape[:2], dtype=torch.bool, device=memory.device)
            (ids,) = self.model.caption_decoder.generate(memory, valid, max_length, beam_size)
            tokens = self.caption_ids.ids2tokens(ids)
            captions.append(self.caption_tokenizer.tokens2text(tokens))
        return captions

    @torch.no_grad()
    def caption_memory(self, wave: torch.Tensor) -> torch.Tensor:
        """``(T,)`` waveform -> ``(1, S, W)`` encoder tokens the caption decoder attends to
        (a long clip: its consecutive windows, concatenated)."""
        spans = self._windows(wave, hop_samples=self.chunk_samples)
        parts = [t.values for t in self._encode_in_packs([wave[s:e] for s, e in spans])]
        return torch.cat(parts)[None]

    def embed_steps(
        self, audio: AudioLike, sample_rate: Optional[int] = None, context_steps: int = 0
    ):
        """Joint-space embeddings of the clip's patch time steps (``locate.StepEmbeddings``)."""
        from espnet2_slap.inference.locate import embed_steps

        return embed_steps(self, self.load(audio, sample_rate), context_steps)

    def locate(
        self,
        audio: AudioLike,
        text: str,
        sample_rate: Optional[int] = None,
        context_steps: int = 0,
    ):
        """Where ``text`` is heard: a ``locate.SimilarityCurve`` (per time step cosine
        similarity, ``times``, ``segments(threshold)``)."""
        return self.embed_steps(audio, sample_rate, context_steps).curve(self.embed_text(text)[0])


def _as_list(audio) -> list:
    if isinstance(audio, (str, Path, np.ndarray, torch.Tensor)):
        return [audio]
    return list(audio)
