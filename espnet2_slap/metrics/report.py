"""Evaluation reports: JSON files, Markdown tables for RESULTS.md and a rank-distribution plot.

Markdown helpers return GitHub-flavoured Markdown strings; the caller decides where they go.
"""

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, List, Optional, Sequence, Union

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from espnet2_slap.metrics.captioning import METRIC_NAMES, CaptioningResult, UnavailableMetric
from espnet2_slap.metrics.retrieval import ChanceLevels, DirectionMetrics, RetrievalResult
from espnet2_slap.metrics.zeroshot import ZeroShotResult
from espnet2_slap.utils.atomic_files import atomic_open, atomic_write_text

PathLike = Union[str, Path]


def to_jsonable(obj: Any, where: str = "obj") -> Any:
    """``obj`` with dataclasses as dicts, numpy/torch values as Python numbers and lists,
    paths as strings and NaN/inf as None (strict JSON has no NaN)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            field.name: to_jsonable(getattr(obj, field.name), f"{where}.{field.name}")
            for field in dataclasses.fields(obj)
        }
    if isinstance(obj, dict):
        converted = {}
        for key, value in obj.items():
            if isinstance(key, (bool, np.bool_)) or not isinstance(key, (str, int, np.integer)):
                raise TypeError(f"{where} has a key of type {type(key).__name__}: {key!r}")
            converted[str(key)] = to_jsonable(value, f"{where}[{key!r}]")
        return converted
    if isinstance(obj, torch.Tensor):
        return to_jsonable(obj.detach().cpu().tolist(), where)
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist(), where)
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(value, f"{where}[{index}]") for index, value in enumerate(obj)]
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item(), where)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{where} of type {type(obj).__name__} has no JSON form")


def write_json(path: PathLike, obj: Any) -> None:
    """Write ``obj`` (see :func:`to_jsonable`) as indented UTF-8 JSON, creating parent dirs;
    the file is replaced whole or not at all (``atomic_files``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False, allow_nan=False)
    atomic_write_text(path, text + "\n")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    """Markdown table; columns from ``numeric_from`` on are right-aligned."""
    align = ["---" if index < numeric_from else "---:" for index in range(len(header))]
    lines = [header, align] + [list(row) for row in rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def _percent(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.2f}"


def _rank(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.2f}"


def _heading(title: Optional[str]) -> List[str]:
    return [f"### {_cell(title)}", ""] if title else []


def retrieval_markdown(result: RetrievalResult, title: Optional[str] = None) -> str:
    """Both retrieval directions with a chance row under each; R@k and mAP@10 in percent."""

    def measured(name: str, metrics: DirectionMetrics) -> List[str]:
        values = [metrics.recall_at_1, metrics.recall_at_5, metrics.recall_at_10, metrics.map_at_10]
        return [name] + [_percent(v) for v in values] + [
            _rank(metrics.median_rank),
            _rank(metrics.mean_rank),
        ]

    def chance(name: str, levels: ChanceLevels) -> List[str]:
        values = [levels.recall_at_1, levels.recall_at_5, levels.recall_at_10, levels.map_at_10]
        return [f"*{name} (chance)*"] + [_percent(v) for v in values] + ["–", "–"]

    header = ["Direction", "R@1", "R@5", "R@10", "mAP@10", "Median rank", "Mean rank"]
    rows = [
        measured("Text → Audio", result.text_to_audio),
        chance("Text → Audio", result.text_to_audio.chance),
        measured("Audio → Text", result.audio_to_text),
        chance("Audio → Text", result.audio_to_text.chance),
    ]
    note = (
        f"{result.n_audio} clips, {result.n_captions} captions; R@k and mAP@10 in %, "
        "ties counted against the model."
    )
    return "\n".join(_heading(title) + [_table(header, rows), "", note]) + "\n"


def zeroshot_markdown(result: ZeroShotResult, title: Optional[str] = None) -> str:
    """Overall accuracies against chance, then a per-class accuracy and support table."""
    overall = [
        ["Top-1 accuracy", _percent(result.top1_accuracy), _percent(result.chance_top1)],
        ["Top-5 accuracy", _percent(result.top5_accuracy), _percent(result.chance_top5)],
        ["Mean per-class accuracy", _percent(result.mean_per_class_accuracy),
         _percent(result.chance_top1)],
    ]
    per_class = [
        [_cell(entry.class_name), str(entry.support), str(entry.correct), _percent(entry.accuracy)]
        for entry in result.per_class
    ]
    note = f"{result.n_clips} clips, {result.n_classes} classes; accuracies in %."
    lines = _heading(title) + [
        _table(["Metric", "Value (%)", "Chance (%)"], overall),
        "",
        note,
        "",
        _table(["Class", "Support", "Correct", "Accuracy (%)"], per_class),
    ]
    return "\n".join(lines) + "\n"


def captioning_markdown(result: CaptioningResult, title: Optional[str] = None) -> str:
    """One row per metric: the score, or ``n/a (reason)`` for an unavailable metric."""
    rows = []
    for name in METRIC_NAMES:
        value = result.scores[name]
        if isinstance(value, UnavailableMetric):
            rows.append([name, f"n/a ({_cell(value.unavailable_reason)})"])
        else:
            rows.append([name, f"{value:.4f}"])
    note = f"{result.n_clips} clips; tokenizer: {_cell(result.tokenizer)}."
    return "\n".join(_heading(title) + [_table(["Metric", "Score"], rows), "", note]) + "\n"


def plot_rank_distribution(
    ranks_t2a: Any, ranks_a2t: Any, path: PathLike, title: Optional[str] = None
) -> None:
    """Write a PNG with the rank histogram and the cumulative rank curve (= R@k vs k) of
    the ``(n_captions,)`` text -> audio and ``(n_audio,)`` audio -> text 1-based ranks."""
    directions = {"Text → Audio": ranks_t2a, "Audio → Text": ranks_a2t}
    checked = {}
    for name, ranks in directions.items():
        array = np.asarray(ranks.detach().cpu() if isinstance(ranks, torch.Tensor) else ranks)
        if array.ndim != 1 or array.size == 0:
            raise ValueError(f"{name} ranks must be a non-empty 1-D array, got shape {array.shape}")
        if not np.issubdtype(array.dtype, np.number) or np.any(array < 1):
            raise ValueError(f"{name} ranks must be numbers >= 1")
        checked[name] = np.sort(array.astype(np.float64))

    figure = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(figure)
    histogram_axes, cumulative_axes = figure.subplots(1, 2)
    largest = max(float(ranks[-1]) for ranks in checked.values())
    bins = np.unique(np.geomspace(1, largest + 1, num=40).round())
    for name, ranks in checked.items():
        histogram_axes.hist(ranks, bins=bins, histtype="step", linewidth=1.5,
                            weights=np.full(ranks.size, 100.0 / ranks.size), label=name)
        fraction = 100.0 * np.arange(1, ranks.size + 1) / ranks.size
        cumulative_axes.step(ranks, fraction, where="post", label=name)
    histogram_axes.set(xscale="log", xlabel="rank (log scale)", ylabel="% of queries",
                       title="Rank histogram")
    cumulative_axes.set(xscale="log", xlabel="k (log scale)", ylabel="R@k (%)",
                        ylim=(0, 100.5), title="Cumulative: queries with rank ≤ k")
    for axes in (histogram_axes, cumulative_axes):
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=120)
