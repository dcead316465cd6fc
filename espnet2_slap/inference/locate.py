"""Where in a clip a described sound is: per-time-step embeddings in the joint space.

The clip embedding is MAP pooling over all of the clip's encoder tokens. The embedding of one
patch time step is the same MAP pooling applied to that time step's ``F`` frequency patches
alone (the learned query attends over those ``F`` tokens; then the value and output
projections, the residual MLP and the joint-space projection, as for the clip), L2-normalised.
A time step is thus embedded by exactly the function that embeds a clip, restricted to the
tokens of that step; ``context_steps = c`` widens the pooled set to steps ``t - c .. t + c``.
Docs: "Dense text-audio similarity" in docs/design.md.

A time step covers ``patch_size`` feature frames (16 x 10 ms = 0.16 s); step ``t`` starts
at ``t * step_seconds``. Clips longer than ``max_native_seconds`` are embedded in the same
windows as ``SLAPInference.embed_audio`` (30 s every 15 s); a step covered by several
windows gets the normalised mean of their embeddings of the step nearest to it.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from espnet2_slap.layers.attention_pooling import AttentionPooling
from espnet2_slap.utils.atomic_files import atomic_path

if TYPE_CHECKING:
    from espnet2_slap.inference.slap_inference import SLAPInference

Segment = Tuple[float, float]


def step_embeddings(
    pooling: AttentionPooling, tokens: torch.Tensor, freq_patches: int, context_steps: int = 0
) -> torch.Tensor:
    """``(S * F, W)`` time-major tokens of one clip -> ``(S, D)`` L2-normalised embeddings,
    step ``t`` pooled from the tokens of steps ``t - context_steps .. t + context_steps``."""
    if tokens.size(0) % freq_patches != 0:
        raise ValueError(f"{tokens.size(0)} tokens are not whole time steps of {freq_patches}")
    if context_steps < 0:
        raise ValueError(f"context_steps must be >= 0, got {context_steps}")
    steps = tokens.size(0) // freq_patches
    margin = context_steps * freq_patches
    width = (2 * context_steps + 1) * freq_patches
    index = (torch.arange(steps, device=tokens.device) * freq_patches)[:, None] + torch.arange(
        width, device=tokens.device
    )  # (S, width) into the padded tokens
    padded = F.pad(tokens, (0, 0, margin, margin))
    valid = (index >= margin) & (index < margin + tokens.size(0))
    return F.normalize(pooling(padded[index], valid), dim=-1)


@dataclass
class StepEmbeddings:
    """Joint-space embeddings of a clip's patch time steps.

    Attributes:
        times: ``(S,)`` start of each step in seconds.
        embeddings: ``(S, D)`` float32, rows L2-normalised.
        step_seconds: length of a step.
        duration: length of the clip in seconds.
    """

    times: np.ndarray
    embeddings: np.ndarray
    step_seconds: float
    duration: float

    def curve(self, text_embedding: np.ndarray) -> "SimilarityCurve":
        """Cosine similarity of every step with a ``(D,)`` normalised text embedding."""
        scores = self.embeddings @ np.asarray(text_embedding, dtype=np.float32).reshape(-1)
        return SimilarityCurve(self.times, scores, self.step_seconds, self.duration)


@dataclass
class SimilarityCurve:
    """Per-time-step similarity of a clip with a text query.

    Attributes:
        times: ``(S,)`` start of each step in seconds; ``ends`` and ``centers`` follow.
        scores: ``(S,)`` cosine similarities.
        step_seconds, duration: as in :class:`StepEmbeddings`.
    """

    times: np.ndarray
    scores: np.ndarray
    step_seconds: float
    duration: float

    @property
    def ends(self) -> np.ndarray:
        return np.minimum(self.times + self.step_seconds, self.duration)

    @property
    def centers(self) -> np.ndarray:
        return (self.times + self.ends) / 2

    def threshold(self, threshold: Optional[float] = None) -> float:
        """``threshold`` itself, or by default halfway between the curve's min and max."""
        if threshold is not None:
            return float(threshold)
        return float(self.scores.min() + 0.5 * (self.scores.max() - self.scores.min()))

    def segments(self, threshold: Optional[float] = None) -> List[Segment]:
        """``[(start, end)]`` seconds of the runs of steps scoring ``>= threshold``."""
        above = self.scores >= self.threshold(threshold)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], above.astype(np.int8), [0]])))
        return [(float(self.times[a]), float(self.ends[b - 1])) for a, b in edges.reshape(-1, 2)]

    def to_dict(self, threshold: Optional[float] = None) -> Dict[str, object]:
        return {
            "threshold": self.threshold(threshold),
            "segments": [list(s) for s in self.segments(threshold)],
            "times": self.times.round(4).tolist(),
            "scores": self.scores.round(5).tolist(),
        }


def _step_geometry(slap: "SLAPInference") -> Tuple[int, int, int]:
    """(patch_size, freq_patches, hop_length) of a SLAP ViT audio encoder."""
    encoder = slap.model.audio_encoder
    if not hasattr(encoder, "freq_patches") or not hasattr(encoder, "patch_size"):
        raise ValueError(
            f"{type(encoder).__name__} has no patch time steps: localisation needs the SLAP "
            "ViT audio encoder (audio_encoder: slap)"
        )
    hop = int((slap.train_args.frontend_conf or {}).get("hop_length", 160))
    return encoder.patch_size, encoder.freq_patches, hop


@torch.no_grad()
def embed_steps(
    slap: "SLAPInference", wave: torch.Tensor, context_steps: int = 0
) -> StepEmbeddings:
    """``(T,)`` waveform at the model rate -> :class:`StepEmbeddings` of the whole clip."""
    patch_size, freq_patches, hop = _step_geometry(slap)
    step_seconds = patch_size * hop / slap.sample_rate
    spans = slap._windows(wave, slap.chunk_hop_samples)
    windows = []  # (start seconds, (S_w, D))
    for start, end in spans:
        (tokens,) = list(slap._encode_in_packs([wave[start:end]]))
        emb = step_embeddings(slap.model.audio_pooling, tokens.values, freq_patches, context_steps)
        windows.append((start / slap.sample_rate, emb.float().cpu().numpy()))
    duration = wave.numel() / slap.sample_rate
    if len(windows) == 1:
        steps = windows[0][1]
    else:
        steps = _merge_windows(windows, duration, step_seconds)
    times = np.arange(len(steps)) * step_seconds
    return StepEmbeddings(times, steps.astype(np.float32), step_seconds, duration)


def _merge_windows(
    windows: List[Tuple[float, np.ndarray]], duration: float, step_seconds: float
) -> np.ndarray:
    """Window step embeddings -> ``(S, D)`` on the clip's own step grid (from 0 s): each
    grid step averages, over the windows covering its centre, their nearest step."""
    num_steps = int(np.ceil(duration / step_seconds - 1e-9))
    centers = (np.arange(num_steps) + 0.5) * step_seconds
    total = np.zeros((num_steps, windows[0][1].shape[1]), dtype=np.float64)
    for offset, emb in windows:
        local = (centers - offset) / step_seconds - 0.5  # fractional step index in the window
        inside = (local > -0.5) & (local < emb.shape[0] - 0.5)
        total[inside] += emb[np.clip(np.rint(local[inside]).astype(int), 0, emb.shape[0] - 1)]
    norms = np.linalg.norm(total, axis=1, keepdims=True)
    return total / np.maximum(norms, 1e-12)


def plot_curves(
    path: Union[str, Path],
    feats: np.ndarray,
    duration: float,
    curves: Dict[str, SimilarityCurve],
    threshold: Optional[float] = None,
    title: str = "",
) -> None:
    """A PNG: the ``(T, n_mels)`` features on top, each query's curve, threshold and
    segments below, on one time axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    top.imshow(feats.T, origin="lower", aspect="auto", cmap="magma",
               extent=(0.0, duration, 0, feats.shape[1]))
    top.set_ylabel("mel bin")
    top.set_title(title)
    for name, curve in curves.items():
        (line,) = bottom.step(curve.times, curve.scores, where="post", label=name)
        level = curve.threshold(threshold)
        bottom.axhline(level, color=line.get_color(), linestyle=":", linewidth=1)
        for start, end in curve.segments(threshold):
            bottom.axvspan(start, end, color=line.get_color(), alpha=0.15)
            top.axvspan(start, end, ymin=0.97, ymax=1.0, color=line.get_color())
    bottom.set_xlabel("time (s)")
    bottom.set_ylabel("cosine similarity")
    bottom.set_xlim(0.0, duration)
    bottom.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    with atomic_path(path) as partial:
        fig.savefig(partial, dpi=100)
    plt.close(fig)


def locate_waves(
    slap: "SLAPInference",
    waves: Dict[str, torch.Tensor],
    queries: Sequence[str],
    threshold: Optional[float] = None,
    plot_dir: Optional[Union[str, Path]] = None,
    context_steps: int = 0,
) -> Dict[str, Dict[str, Dict[str, object]]]:
    """``{name: wave}`` -> ``{name: {"queries": {query: curve dict}, "png": path or None}}``;
    with ``plot_dir`` one PNG per clip, ``<plot_dir>/<stem>.locate.png``."""
    text = slap.embed_text(list(queries))
    result = {}
    for name, wave in waves.items():
        steps = embed_steps(slap, wave, context_steps)
        curves = {query: steps.curve(row) for query, row in zip(queries, text)}
        png = None
        if plot_dir is not None:
            png = Path(plot_dir) / f"{Path(name).stem}.locate.png"
            png.parent.mkdir(parents=True, exist_ok=True)
            feats = slap._features(wave).float().cpu().numpy()
            plot_curves(png, feats, steps.duration, curves, threshold, title=Path(name).name)
        result[name] = {
            "queries": {query: curve.to_dict(threshold) for query, curve in curves.items()},
            "png": None if png is None else str(png),
        }
    return result
