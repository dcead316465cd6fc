"""Scores of the tagging recipes: mAP (multi-label), accuracy (multi-class), CV folds.

    python -m espnet2_slap.cls.scoring score --ref dump/raw/eval/text \\
        --score exp/x/cls_eval/score --token_list data/token_list --out exp/x/cls_eval/scoring
    python -m espnet2_slap.cls.scoring folds --out exp/RESULTS_cv.md exp/*_fold*/cls_*/scoring

``score`` reads ESPnet's ``cls_inference`` output (``score``: one probability per class, in
token-list order, written with ``--output_all_probabilities true``) against the reference
labels (``text``: ``utt_id label [label ...]``). mAP is the mean over classes with at least
one positive clip of the average precision (torcheval's ``multilabel_auprc``, which ESPnet's
classification callback uses too); accuracy is top-1. ``folds`` gives the mean and each
fold's accuracy of cross-validation runs (ESC-50).
"""

import argparse
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torcheval.metrics.functional import binary_auprc, multilabel_auprc

from espnet2_slap.cls.sampling import NO_LABEL


def read_token_list(path) -> List[str]:
    """The classes of a CLS token list (its last entry, ``<unk>``, is not a class)."""
    tokens = [line.rstrip("\n") for line in open(path, encoding="utf-8") if line.strip()]
    return tokens[:-1] if tokens and tokens[-1] == "<unk>" else tokens


def read_scores(path) -> Dict[str, np.ndarray]:
    scores = {}
    for line_number, line in enumerate(open(path, encoding="utf-8"), 1):
        fields = line.split()
        if fields:
            scores[fields[0]] = np.asarray([float(x) for x in fields[1:]], dtype=np.float64)
    return scores


def read_refs(path) -> Dict[str, List[str]]:
    refs = {}
    for line in open(path, encoding="utf-8"):
        fields = line.split()
        if fields:
            refs[fields[0]] = [label for label in fields[1:] if label != NO_LABEL]
    return refs


def score(refs: Dict[str, List[str]], scores: Dict[str, np.ndarray], classes: Sequence[str]) -> Dict:
    """Metrics of ``scores`` ``{utt: (C,)}`` against ``refs`` ``{utt: [labels]}``.

    Raises:
        ValueError: clips without a score, or a score row whose length is not ``len(classes)``.
    """
    missing = sorted(set(refs) - set(scores))
    if missing:
        raise ValueError(f"{len(missing)} reference clips have no score, e.g. {missing[0]!r}")
    utts = sorted(refs)
    bad = [u for u in utts if scores[u].shape != (len(classes),)]
    if bad:
        raise ValueError(
            f"score of {bad[0]!r} has {scores[bad[0]].size} values, expected one per class "
            f"({len(classes)}; run inference with --output_all_probabilities true)"
        )
    index = {c: i for i, c in enumerate(classes)}
    probs = np.stack([scores[u] for u in utts])  # (N, C)
    target = np.zeros_like(probs)
    unknown = 0
    for row, utt in enumerate(utts):
        for label in refs[utt]:
            if label in index:
                target[row, index[label]] = 1.0
            else:
                unknown += 1
    top1 = probs.argmax(axis=1)
    correct = [classes[top1[row]] in refs[utt] for row, utt in enumerate(utts)]
    result = {"clips": len(utts), "classes": len(classes), "accuracy": float(np.mean(correct)),
              "unknown_reference_labels": unknown}
    present = target.sum(axis=0) > 0
    if present.sum() == 1:  # torcheval's multilabel AP needs two labels
        column = int(np.flatnonzero(present)[0])
        result["mAP"] = float(binary_auprc(torch.from_numpy(probs[:, column]), torch.from_numpy(target[:, column])))
        result["classes_with_positives"] = 1
    elif present.any():
        ap = multilabel_auprc(
            torch.from_numpy(probs[:, present]), torch.from_numpy(target[:, present]).long(),
            num_labels=int(present.sum()), average=None,
        )
        result["mAP"] = float(ap.mean())
        result["classes_with_positives"] = int(present.sum())
    return result


def fold_summary(metrics: Dict[str, Dict], key: str = "accuracy") -> Dict:
    """``{fold name: metrics}`` -> mean, standard deviation and each fold's ``key``."""
    values = {name: m[key] for name, m in sorted(metrics.items())}
    array = np.array(list(values.values()))
    return {"metric": key, "mean": float(array.mean()), "std": float(array.std()), "folds": values}


def _write(result: Dict, out: Path, title: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"# {title}", "", "| metric | value |", "|---|---|"]
    for key, value in result.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {100 * v:.2f}" for k, v in value.items())
        elif isinstance(value, float):
            value = f"{100 * value:.2f}" if key in ("accuracy", "mAP", "mean", "std") else f"{value:.4f}"
        lines.append(f"| {key} | {value} |")
    (out / "metrics.md").write_text("\n".join(lines) + "\n")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Score tagging / classification outputs")
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("score", help="mAP and accuracy of one inference output")
    one.add_argument("--ref", required=True, help="reference labels: 'utt_id label ...' (the set's text)")
    one.add_argument("--score", required=True, help="cls_inference 'score' file (all probabilities)")
    one.add_argument("--token_list", required=True, help="the model's token list (classes, then <unk>)")
    one.add_argument("--out", required=True, help="folder for metrics.json and metrics.md")
    folds = sub.add_parser("folds", help="mean and per-fold accuracy of cross-validation runs")
    folds.add_argument("--out", required=True, help="folder for the summary")
    folds.add_argument("--metric", default="accuracy", help="metric of metrics.json to summarise")
    folds.add_argument("scoring_dirs", nargs="+", help="scoring folders (metrics.json) of the folds")
    return parser


def main(argv: Optional[List[str]] = None) -> Dict:
    args = get_parser().parse_args(argv)
    if args.command == "score":
        result = score(read_refs(args.ref), read_scores(args.score), read_token_list(args.token_list))
        _write(result, Path(args.out), f"scores of {args.score}")
    else:
        metrics = {}
        for folder in args.scoring_dirs:
            path = Path(folder) / "metrics.json"
            if not path.is_file():
                raise SystemExit(f"error: {path} is missing (score that fold first)")
            metrics[str(folder)] = json.loads(path.read_text())
        result = fold_summary(metrics, args.metric)
        _write(result, Path(args.out), f"cross-validation ({len(metrics)} folds)")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
