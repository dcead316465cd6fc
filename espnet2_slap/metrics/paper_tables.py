"""RESULTS.md laid out like the SLAP paper's Tables 1-3, with the paper's figures beside.

Inputs are the ``results.json`` summaries that ``espnet2_slap.bin.slap_score`` writes, one per
benchmark set, keyed by the benchmark names of :data:`BENCHMARKS`. A set that was not scored
shows ``–``; a captioning metric that could not run shows ``n/a``. Every value is in percent
(captioning scores are pycocoevalcap's 0..1 / 0..10 values times 100, the paper's scale).
"""

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

# benchmark name -> (column title in the tables, task)
BENCHMARKS: Dict[str, Tuple[str, str]] = {
    "audiocaps": ("AudioCaps", "retrieval"),
    "clotho": ("Clotho", "retrieval"),
    "esc50": ("ESC", "zeroshot"),
    "us8k": ("US8K", "zeroshot"),
    "cremad": ("CRD", "zeroshot"),
    "ravdess": ("RAD", "zeroshot"),
    "gtzan": ("GTZAN", "zeroshot"),
    "librispeech_test_clean": ("LibriSpeech test-clean", "retrieval"),
    "librispeech_test_other": ("LibriSpeech test-other", "retrieval"),
}
RETRIEVAL_SETS = ("audiocaps", "clotho")
ZEROSHOT_SETS = ("esc50", "us8k", "cremad", "ravdess", "gtzan")
SPEECH_SETS = ("librispeech_test_clean", "librispeech_test_other")
CAPTION_METRICS = (("METEOR", "METEOR"), ("CIDEr", "CIDEr-D"), ("SPICE", "SPICE"))

# The SLAP paper (arXiv 2601.12594), /work/shared/papers/slap_paper.md.
# Table 1: text->audio R@1/5/10, then audio->text R@1/5/10.
PAPER_RETRIEVAL: Dict[str, Dict[str, Tuple[float, ...]]] = {
    "SLAP, paper, zero-shot (Table 1)": {
        "audiocaps": (35.1, 65.8, 76.4, 44.8, 73.9, 84.4),
        "clotho": (18.9, 41.7, 54.3, 23.5, 46.6, 59.0),
    },
    "SLAP, paper, fine-tuned (Table 1)": {
        "audiocaps": (47.5, 79.8, 89.2, 63.4, 87.8, 94.1),
        "clotho": (27.2, 55.9, 68.3, 36.8, 61.3, 73.2),
    },
}
# Table 2: top-1 accuracy.
PAPER_ZEROSHOT: Dict[str, Dict[str, float]] = {
    "SLAP, paper (Table 2)": {"esc50": 88.6, "us8k": 81.6, "cremad": 28.1, "ravdess": 26.4, "gtzan": 56.8},
    "SLAP fine-tuned on WavCaps, paper (Table 2)": {
        "esc50": 95.5, "us8k": 83.5, "cremad": 32.2, "ravdess": 29.8, "gtzan": 80.5,
    },
}
# Table 3: METEOR, CIDEr, SPICE of the fine-tuned model.
PAPER_CAPTIONING: Dict[str, Tuple[float, float, float]] = {
    "clotho": (18.1, 43.7, 13.1),
    "audiocaps": (24.9, 75.1, 18.1),
}
MISSING = "–"
NO_CAPTIONS = "no captions were generated: the model has no caption decoder, or --caption false"


@dataclass
class ModelIdentity:
    """Which model was scored: what the user gave, its kind, a content hash and its config."""

    source: str
    kind: str  # "experiment directory", "packed archive" or "model-zoo tag"
    sha256: str
    config: str
    summary: Dict[str, str] = field(default_factory=dict)  # e.g. {"audio encoder": "slap, 12 layers"}


@dataclass
class SetStatus:
    """One benchmark set of this run: its corpus variable, clip count and what happened."""

    name: str
    variable: str
    status: str  # "scored" or "skipped: <why>"
    n_clips: Optional[int] = None


def _number(value: Optional[float]) -> str:
    return MISSING if value is None else f"{value:.1f}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1) -> List[str]:
    align = ["---" if i < text_columns else "---:" for i in range(len(header))]
    return [_row(header), _row(align)] + [_row(r) for r in rows]


def retrieval_recalls(summary: Optional[Mapping]) -> List[Optional[float]]:
    """``[t2a R@1, R@5, R@10, a2t R@1, R@5, R@10]`` of a retrieval summary (Nones if absent)."""
    if not summary or "retrieval" not in summary:
        return [None] * 6
    values = []
    for direction in ("text_to_audio", "audio_to_text"):
        metrics = summary["retrieval"][direction]
        values += [metrics["recall_at_1"], metrics["recall_at_5"], metrics["recall_at_10"]]
    return values


def zeroshot_top1(summary: Optional[Mapping], key: str = "zeroshot") -> Optional[float]:
    """Top-1 accuracy of a zero-shot summary (``key="zeroshot_ensemble"`` for the ensemble)."""
    if not summary or key not in summary:
        return None
    return summary[key]["top1_accuracy"]


def caption_cell(summary: Optional[Mapping], metric: str, notes: List[str]) -> str:
    """A captioning score times 100, ``–`` for a set not scored, or ``n/a [k]`` for an
    unavailable metric (or no captions) whose reason is appended to ``notes`` as note ``k``."""
    if not summary:
        return MISSING
    if "captioning" not in summary:
        value = {"unavailable_reason": NO_CAPTIONS}
    else:
        value = summary["captioning"]["scores"].get(metric)
    if isinstance(value, Mapping):
        reason = " ".join(str(value.get("unavailable_reason", "unknown")).split())
        if reason not in notes:
            notes.append(reason)
        return f"n/a [{notes.index(reason) + 1}]"
    return MISSING if value is None else f"{100.0 * value:.1f}"


def render_results(
    identity: ModelIdentity,
    results: Mapping[str, Mapping],
    statuses: Sequence[SetStatus],
    prompts: Mapping[str, Mapping],
    command: str,
    ensemble: bool = True,
) -> str:
    """The whole RESULTS.md.

    Args:
        identity: the scored model.
        results: benchmark name -> ``slap_score`` summary (``results.json`` content).
        statuses: every benchmark set of the run, scored or skipped.
        prompts: zero-shot benchmark name -> ``{"template": str, "ensemble": [str, ...],
            "labels": [str, ...]}`` as used.
        command: the command that produced the file.
        ensemble: whether prompt-ensemble rows are shown.
    """
    lines = ["# SLAP benchmarks", ""]
    lines += [
        f"- Model: `{identity.source}` ({identity.kind})",
        f"- sha256: `{identity.sha256}`",
        f"- Config: `{identity.config}`",
    ]
    lines += [f"- {key}: {value}" for key, value in identity.summary.items()]
    lines += [f"- Produced by: `{command}`", ""]
    lines += [
        f"`{MISSING}`: set not scored in this run (see *Sets*); `n/a`: metric unavailable here. "
        "All figures in %. Rows marked *paper* are the SLAP paper's published figures, "
        "for reference (its models were trained on 109M pairs).",
        "",
    ]

    def this_model(name: str) -> str:
        return f"**this model{name}**"

    # Table 1
    lines += ["## Table 1. Audio-text retrieval (R@k)", ""]
    header = ["Model"] + [
        f"{BENCHMARKS[s][0]} {d} R@{k}"
        for s in RETRIEVAL_SETS
        for d in ("T→A", "A→T")
        for k in (1, 5, 10)
    ]
    measured = [_number(v) for s in RETRIEVAL_SETS for v in retrieval_recalls(results.get(s))]
    rows = [[this_model("")] + measured]
    for label, figures in PAPER_RETRIEVAL.items():
        rows.append([f"*{label}*"] + [_number(v) for s in RETRIEVAL_SETS for v in figures[s]])
    lines += _table(header, rows) + [""]

    # Table 2
    lines += ["## Table 2. Zero-shot classification (top-1 accuracy)", ""]
    header = ["Model"] + [BENCHMARKS[s][0] for s in ZEROSHOT_SETS]
    rows = [[this_model(", one prompt")] + [_number(zeroshot_top1(results.get(s))) for s in ZEROSHOT_SETS]]
    if ensemble:
        rows.append(
            [this_model(", prompt ensemble")]
            + [_number(zeroshot_top1(results.get(s), "zeroshot_ensemble")) for s in ZEROSHOT_SETS]
        )
    for label, figures in PAPER_ZEROSHOT.items():
        rows.append([f"*{label}*"] + [_number(figures[s]) for s in ZEROSHOT_SETS])
    lines += _table(header, rows) + [""]

    # Table 3
    lines += ["## Table 3. Audio captioning", ""]
    header = ["Dataset", "Model"] + [title for title, _ in CAPTION_METRICS]
    rows, notes = [], []
    for name in ("clotho", "audiocaps"):
        title = BENCHMARKS[name][0]
        scores = [caption_cell(results.get(name), metric, notes) for _, metric in CAPTION_METRICS]
        rows.append([title, this_model("")] + scores)
        rows.append([title, "*SLAP, paper (Table 3)*"] + [_number(v) for v in PAPER_CAPTIONING[name]])
    lines += _table(header, rows, text_columns=2) + [""]
    lines += [f"[{k}] {reason}" for k, reason in enumerate(notes, 1)] + ([""] if notes else [])
    lines += ["CIDEr is coco-caption's CIDEr-D (pycocoevalcap), as in the captioning literature.", ""]

    # Speech-content retrieval
    lines += ["## Speech-content retrieval (LibriSpeech; transcripts as captions)", ""]
    header = ["Set"] + [f"{d} R@{k}" for d in ("T→A", "A→T") for k in (1, 5, 10)]
    rows = [[BENCHMARKS[s][0]] + [_number(v) for v in retrieval_recalls(results.get(s))] for s in SPEECH_SETS]
    lines += _table(header, rows)
    lines += ["", "The SLAP paper reports no speech-content retrieval; GLAP (its reference [22]) does.", ""]

    # Prompts
    lines += ["## Prompts (zero-shot)", ""]
    header = ["Set", "Classes (as words)", "One prompt", "Ensemble prompts"]
    rows = []
    for name in ZEROSHOT_SETS:
        if name not in prompts:
            continue
        used = prompts[name]
        rows.append([
            BENCHMARKS[name][0],
            ", ".join(used.get("labels", [])) or MISSING,
            f"`{used['template']}`",
            "<br>".join(f"`{t}`" for t in used.get("ensemble", [])) or MISSING,
        ])
    lines += _table(header, rows, text_columns=4) if rows else ["No zero-shot set was scored."]
    lines += [""]

    # Sets
    lines += ["## Sets", ""]
    header = ["Set", "Variable", "Status", "Details", "Clips"]
    rows = []
    for entry in statuses:
        details = f"[results]({entry.name}/score/results.md)" if entry.status == "scored" else MISSING
        clips = MISSING if entry.n_clips is None else str(entry.n_clips)
        rows.append([entry.name, entry.variable, entry.status.replace("|", "\\|"), details, clips])
    lines += _table(header, rows, text_columns=4) + [""]
    return "\n".join(lines)
