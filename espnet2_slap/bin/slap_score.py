"""Recipe scoring: retrieval (and captioning) or zero-shot classification of a test set.

    python -m espnet2_slap.bin.slap_score --task retrieval \\
        --slap_train_config exp/slap_tiny/config.yaml --slap_model_file exp/slap_tiny/valid.loss.best.pth \\
        --data_dir dump/raw/test --inference_dir exp/slap_tiny/inference/test \\
        --output_dir exp/slap_tiny/inference/test/score

Reads the audio embeddings written by ``slap_inference`` (``audio_embeds.scp``) and embeds
the reference captions (``text_refs``, several per clip, or ``text``) or the class prompts
with the model's text encoder. ``retrieval`` also scores ``captions`` when the inference dir
has them. Writes ``results.json``, ``results.md`` and (retrieval) ``rank_distribution.png``.
"""

import argparse
import logging
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from espnet2_slap.inference.prompts import class_text_embeddings
from espnet2_slap.inference.slap_inference import SLAPInference
from espnet2_slap.metrics.captioning import evaluate_captions
from espnet2_slap.metrics.report import (
    captioning_markdown,
    plot_rank_distribution,
    retrieval_markdown,
    to_jsonable,
    write_json,
    zeroshot_markdown,
)
from espnet2_slap.metrics.retrieval import evaluate_retrieval
from espnet2_slap.metrics.zeroshot import evaluate_zero_shot
from espnet2_slap.utils.atomic_files import atomic_write_text
from espnet2_slap.utils.embeddings_scp import read_embeddings


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Score SLAP embeddings and captions")
    parser.add_argument("--task", required=True, choices=["retrieval", "zeroshot"],
                        help="retrieval (and captioning when captions exist) or zero-shot classification")
    parser.add_argument("--slap_train_config", help="the experiment's config.yaml (with --slap_model_file)")
    parser.add_argument("--slap_model_file", help="the trained weights (.pth)")
    parser.add_argument("--model_tag", help="packed .zip or model-zoo tag instead of config+model")
    parser.add_argument("--data_dir", required=True, help="text_refs/text, utt2label here")
    parser.add_argument("--inference_dir", required=True, help="audio_embeds.scp [captions]")
    parser.add_argument("--output_dir", required=True, help="results.json and results.md go here")
    parser.add_argument("--labels", help="class labels, one per line (zeroshot)")
    parser.add_argument("--template", default="the sound of {label}", help="zero-shot prompt")
    parser.add_argument(
        "--ensemble_templates",
        nargs="+",
        help="several zero-shot prompts: their text embeddings are averaged per class and "
        "renormalised (prompt ensemble), scored beside the single --template",
    )
    parser.add_argument(
        "--rerank_depth", type=int, default=0,
        help="retrieval: also re-rank each text query's top N clips by cosine + w * the caption "
        "decoder's mean log-likelihood of the query (0: off); audio is read from wav.scp",
    )
    parser.add_argument("--rerank_weight", type=float, help="re-ranking: the mix weight w")
    parser.add_argument(
        "--rerank_valid_dir",
        help="re-ranking: a data dir (wav.scp, text_refs/text) on which w is chosen from "
        "--rerank_weights, when --rerank_weight is not given",
    )
    parser.add_argument("--rerank_weights", type=float, nargs="+",
                        help="re-ranking: the weights tried on --rerank_valid_dir")
    parser.add_argument("--ngpu", type=int, default=0, help="0: CPU, 1: the first GPU")
    parser.add_argument("--log_level", default="INFO", help="logging level (INFO, WARNING, ...)")
    return parser


def read_table(path: Path, multi: bool = False, allow_empty: bool = False) -> Dict[str, object]:
    """``utt value`` lines -> dict (``multi``: value lists, keys may repeat; ``allow_empty``:
    a line holding only the id has the value "", as a generated caption may be empty)."""
    if not path.is_file():
        raise SystemExit(f"error: missing {path}")
    table: Dict[str, object] = {}
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split(maxsplit=1)
            if len(parts) == 1 and allow_empty:
                parts.append("")
            if len(parts) != 2:
                raise SystemExit(f"error: {path}:{number}: expected 'utt_id value'")
            if multi:
                table.setdefault(parts[0], []).append(parts[1])
            else:
                table[parts[0]] = parts[1]
    return table


def load_audio_embeddings(inference_dir: Path) -> Tuple[List[str], np.ndarray]:
    """Sorted utt ids and their audio embeddings; the arks are found from the scp's folder,
    so a renamed or moved experiment still scores (``utils/embeddings_scp``)."""
    scp = inference_dir / "audio_embeds.scp"
    if not scp.is_file():
        raise SystemExit(f"error: missing {scp} (run slap_inference first)")
    try:
        return read_embeddings(scp)
    except (OSError, ValueError) as err:
        raise SystemExit(f"error: {err}") from err


def read_references(data_dir: Path, keys: List[str]) -> Tuple[Path, Dict[str, list]]:
    """The reference captions of ``keys`` (``text_refs``, else ``text``) and their file."""
    refs_file = data_dir / "text_refs" if (data_dir / "text_refs").is_file() else data_dir / "text"
    references = read_table(refs_file, multi=True)
    missing = [k for k in keys if k not in references]
    if missing:
        raise SystemExit(f"error: {refs_file}: no caption for {len(missing)} clips, e.g. {missing[0]}")
    return refs_file, references


def score_retrieval(slap: SLAPInference, args, keys, audio, out: Path) -> Tuple[dict, str]:
    data_dir = Path(args.data_dir)
    refs_file, references = read_references(data_dir, keys)
    captions = [(i, c) for i, k in enumerate(keys) for c in references[k]]
    caption_to_audio = np.array([i for i, _ in captions])
    text = slap.embed_text([c for _, c in captions])
    result = evaluate_retrieval(text @ audio.T, caption_to_audio)
    plot_rank_distribution(
        result.text_to_audio.ranks, result.audio_to_text.ranks, out / "rank_distribution.png",
        title=f"{data_dir.name}: rank of the correct item",
    )
    summary = {"retrieval": to_jsonable(result), "references": str(refs_file)}
    markdown = retrieval_markdown(result, title=f"Retrieval on {data_dir.name}")
    markdown += f"\n![rank distribution](rank_distribution.png)\n"
    if args.rerank_depth > 0:
        from espnet2_slap.inference.rerank import rerank_data_dir

        summary["rerank"], rerank_md = rerank_data_dir(
            slap, args, keys, text @ audio.T, [c for _, c in captions], caption_to_audio,
            read_references,
        )
        markdown += "\n" + rerank_md

    predictions_file = Path(args.inference_dir) / "captions"
    if predictions_file.is_file():
        predictions = read_table(predictions_file, allow_empty=True)
        predictions = {k: predictions.get(k, "") for k in keys}
        captioning = evaluate_captions(predictions, {k: references[k] for k in keys})
        summary["captioning"] = to_jsonable(captioning)
        markdown += "\n" + captioning_markdown(captioning, title=f"Captioning on {data_dir.name}")
        markdown += "\n" + caption_examples(keys, predictions, references)
    return summary, markdown


def caption_examples(keys, predictions, references, count: int = 5) -> str:
    """A few generated captions beside a reference, as a Markdown table."""
    rows = ["| clip | generated | reference |", "|---|---|---|"]
    for key in keys[:count]:
        rows.append(f"| {key} | {predictions[key] or '(empty)'} | {references[key][0]} |")
    return "Example captions:\n\n" + "\n".join(rows) + "\n"


def score_zeroshot(slap: SLAPInference, args, keys, audio) -> Tuple[dict, str]:
    if args.labels is None:
        raise SystemExit("error: --task zeroshot needs --labels")
    labels_path = Path(args.labels)
    class_names = [line.strip() for line in labels_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not class_names:
        raise SystemExit(f"error: {labels_path} has no labels")
    utt2label = read_table(Path(args.data_dir) / "utt2label")
    unknown = sorted({utt2label.get(k) for k in keys} - set(class_names))
    if unknown:
        raise SystemExit(f"error: utt2label uses labels missing from {labels_path}: {unknown[:5]}")
    labels = np.array([class_names.index(utt2label[k]) for k in keys])
    scores = audio @ class_text_embeddings(slap.embed_text, class_names, args.template).T
    result = evaluate_zero_shot(scores, labels, class_names)
    summary = {"zeroshot": to_jsonable(result), "template": args.template}
    title = f"Zero-shot classification on {Path(args.data_dir).name} (prompt: \"{args.template}\")"
    markdown = zeroshot_markdown(result, title=title)
    if getattr(args, "ensemble_templates", None):
        templates = list(args.ensemble_templates)
        scores = audio @ class_text_embeddings(slap.embed_text, class_names, templates).T
        ensemble = evaluate_zero_shot(scores, labels, class_names)
        summary.update(zeroshot_ensemble=to_jsonable(ensemble), ensemble_templates=templates)
        title = f"Zero-shot classification on {Path(args.data_dir).name} (ensemble of {len(templates)} prompts)"
        markdown += "\n" + zeroshot_markdown(ensemble, title=title)
    return summary, markdown


def main(cmd: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s: %(message)s")
    device = "cuda" if args.ngpu > 0 else "cpu"
    if args.model_tag is not None:
        slap = SLAPInference.from_pretrained(args.model_tag, device=device)
    elif args.slap_train_config is not None:
        slap = SLAPInference(args.slap_train_config, args.slap_model_file, device=device)
    else:
        raise SystemExit("error: give --slap_train_config (and --slap_model_file) or --model_tag")
    print(run(args, slap)[1])


def run(args: argparse.Namespace, slap: SLAPInference) -> Tuple[dict, str]:
    """Score ``args.inference_dir`` with a loaded model; writes and returns (results, markdown)."""
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    keys, audio = load_audio_embeddings(Path(args.inference_dir))
    if args.task == "retrieval":
        summary, markdown = score_retrieval(slap, args, keys, audio, out)
    else:
        summary, markdown = score_zeroshot(slap, args, keys, audio)
    results = dict(task=args.task, data_dir=args.data_dir, n_clips=len(keys), **summary)
    write_json(out / "results.json", results)
    atomic_write_text(out / "results.md", markdown)
    logging.info(f"wrote {out}/results.json and results.md")
    return results, markdown


if __name__ == "__main__":
    main()
