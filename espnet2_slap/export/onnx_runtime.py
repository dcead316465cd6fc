"""Run an exported SLAP model with onnxruntime, numpy and tokenizers only: no PyTorch.

``slap_export_onnx`` copies this file into its output folder as ``slap_onnx.py``::

    from slap_onnx import SLAPOnnx

    slap = SLAPOnnx("exported_model/")
    audio = slap.embed_audio(wave)                 # (D,): a 16 kHz mono float32 waveform
    text = slap.embed_text(["a dog barks", "rain"])  # (2, D)
    scores = text @ audio                          # cosine similarities

Audio is windowed as ``SLAPInference`` does: clips up to ``max_native_seconds`` (30 s) are
embedded whole, longer ones in 30 s windows every 15 s, the last one ending at the clip's end,
and the window embeddings are averaged and normalised. Clips shorter than one FFT window are
zero-padded to it. Resample to ``sample_rate`` and mix to mono before calling.
"""

import json
from pathlib import Path
from typing import List, Sequence, Tuple, Union

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

CONFIG = "slap_onnx.json"


def window_spans(num_samples: int, max_native: int, chunk: int, hop: int) -> List[Tuple[int, int]]:
    """``[(start, end)]``: the whole clip up to ``max_native`` samples, else windows of
    ``chunk`` every ``hop`` plus one ending at the clip's end (``inference.long_audio``)."""
    if num_samples <= max_native or num_samples <= chunk:
        return [(0, num_samples)]
    starts = list(range(0, num_samples - chunk + 1, hop))
    if starts[-1] + chunk < num_samples:
        starts.append(num_samples - chunk)
    return [(start, start + chunk) for start in starts]


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class SLAPOnnx:
    """The audio and text towers of an exported SLAP model.

    Args:
        folder: what ``slap_export_onnx`` wrote (``audio.onnx``, ``text.onnx``,
            ``tokenizer/``, ``slap_onnx.json``).
        providers: onnxruntime execution providers (default: CPU).
        threads: intra-op threads (0: onnxruntime's default).
    """

    def __init__(
        self,
        folder: Union[str, Path],
        providers: Sequence[str] = ("CPUExecutionProvider",),
        threads: int = 0,
    ):
        folder = Path(folder)
        self.config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self.audio = onnxruntime.InferenceSession(str(folder / "audio.onnx"), options,
                                                  providers=list(providers))
        self.text = onnxruntime.InferenceSession(str(folder / "text.onnx"), options,
                                                 providers=list(providers))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer" / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.config["max_text_tokens"])
        self.sample_rate = int(self.config["sample_rate"])

    def embed_audio(self, wave: np.ndarray) -> np.ndarray:
        """``(T,)`` mono waveform at ``sample_rate`` -> ``(D,)`` L2-normalised embedding."""
        wave = np.asarray(wave, dtype=np.float32)
        if wave.ndim != 1 or wave.size == 0:
            raise ValueError(f"need a non-empty (T,) mono waveform, got shape {wave.shape}")
        if not np.isfinite(wave).all():
            raise ValueError("the waveform has NaN or infinite samples")
        if wave.size < self.config["min_samples"]:
            wave = np.pad(wave, (0, self.config["min_samples"] - wave.size))
        c = self.config
        spans = window_spans(wave.size, c["max_native_samples"], c["chunk_samples"],
                             c["chunk_hop_samples"])
        windows = [self.audio.run(None, {"waveform": wave[None, s:e]})[0][0] for s, e in spans]
        return _normalize(_normalize(np.stack(windows)).mean(axis=0))

    def embed_text(self, texts: Union[str, Sequence[str]]) -> np.ndarray:
        """One or more captions -> ``(N, D)`` L2-normalised embeddings."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return np.zeros((0, self.config["embed_dim"]), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        longest = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), longest), dtype=np.int64)
        mask = np.zeros((len(texts), longest), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        return self.text.run(None, {"input_ids": ids, "attention_mask": mask})[0]
