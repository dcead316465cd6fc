#!/usr/bin/env python3
"""Embed, score and tabulate every prepared benchmark set for one SLAP model (run.sh stage 2).

    python local/benchmarks.py --model exp/slap_x/packed_model.zip --data_dir data \\
        --exp_dir exp/benchmarks --prompts conf/prompts.yaml

The model is an experiment directory (``config.yaml`` + ``--inference_model``), a packed
``.zip`` from ``slap_pack`` or a model-zoo tag. Each set found through ``<data_dir>/<corpus>/status``
(written by ``local/data.sh``) is embedded once with ``slap_inference`` and scored with
``slap_score`` (both reused in-process, the model loaded once). Results live in
``<exp_dir>/<model hash>/<set>/`` under stamps keyed by the model hash, the data files, what
the set was prepared from (``prepared_from.json``: its folders' file names, sizes and
modification times) and the options (prompts for zero-shot sets), so a re-run recomputes only
what changed or is new.

A prepared set whose folders changed since its preparation (a missing clip added, a file
replaced) is prepared again first, with the command it was prepared with, and says so; a set
that fails is reported as failed and the others are still scored. Writes
``<exp_dir>/<model hash>/RESULTS.md`` laid out like the paper's Tables 1-3, with every result
cached for the model (sets outside ``--corpora`` or skipped in this run included, marked as
from an earlier run).
"""

import argparse
import hashlib
import json
import shlex
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from espnet2_slap.bin import slap_inference, slap_score
from espnet2_slap.corpora import sources
from espnet2_slap.inference.prompts import as_template_list
from espnet2_slap.inference.slap_inference import SLAPInference
from espnet2_slap.utils.model_source import ModelSourceError, resolve_slap_model
from espnet2_slap.metrics.paper_tables import BENCHMARKS, ModelIdentity, SetStatus, render_results
from espnet2_slap.utils.atomic_files import atomic_write_text

# corpus (data/<corpus>/) -> (db.sh variable, [(benchmark, data dir written by its preparation)])
CORPORA: Dict[str, Tuple[str, List[Tuple[str, str]]]] = {
    "audiocaps": ("AUDIOCAPS", [("audiocaps", "audiocaps_test")]),
    "clotho": ("CLOTHO", [("clotho", "clotho_evaluation")]),
    "esc50": ("ESC50", [("esc50", "esc50")]),
    "us8k": ("US8K", [("us8k", "us8k")]),
    "cremad": ("CREMAD", [("cremad", "cremad")]),
    "ravdess": ("RAVDESS", [("ravdess", "ravdess")]),
    "gtzan": ("GTZAN", [("gtzan", "gtzan")]),
    "librispeech": ("LIBRISPEECH", [("librispeech_test_clean", "librispeech_test_clean"),
                                    ("librispeech_test_other", "librispeech_test_other")]),
}
CAPTION_SETS = ("audiocaps", "clotho")  # captions are generated and scored (Table 3)
DATA_FILES = ("wav.scp", "text", "text_refs", "utt2label", "labels")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="SLAP benchmarks: embed, score, write RESULTS.md")
    parser.add_argument("--model", required=True, help="experiment dir, packed .zip or model-zoo tag")
    parser.add_argument("--inference_model", default="valid.loss.best.pth",
                        help="weights file inside an experiment dir")
    parser.add_argument("--data_dir", default="data", help="where local/data.sh wrote the sets")
    parser.add_argument("--exp_dir", default="exp/benchmarks", help="results go to <exp_dir>/<model hash>/")
    parser.add_argument("--prompts", default="conf/prompts.yaml", help="zero-shot prompt templates per set")
    parser.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=list(CORPORA),
                        help="corpora to consider (each is scored when local/data.sh prepared it)")
    parser.add_argument("--prompt_ensemble", choices=["true", "false"], default="true",
                        help="also score the prompt ensemble of each zero-shot set")
    parser.add_argument("--caption", choices=["true", "false"], default="true",
                        help="generate and score captions on AudioCaps/Clotho when the model can")
    parser.add_argument("--beam_size", type=int, default=1, help="caption beam size")
    parser.add_argument("--max_caption_length", type=int, default=30, help="caption tokens at most")
    parser.add_argument("--batch_tokens", type=int, default=32768, help="audio tokens per encoder call")
    parser.add_argument("--ngpu", type=int, default=0, help="0: CPU, 1: the first GPU")
    parser.add_argument("--command", default=None, help="the command to record in RESULTS.md")
    return parser


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def key_of(*parts) -> str:
    """A stable hash of JSON-able parts (the cache stamps)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class Model:
    """The model to benchmark: resolved to config + weights, hashed, loaded on first use."""

    def __init__(self, source: str, inference_model: str, cache_dir: Path, device: str, batch_tokens: int):
        self.device, self.batch_tokens = device, batch_tokens
        path = Path(source)
        if path.is_dir():
            config, weights = path / "config.yaml", path / inference_model
            for needed in (config, weights):
                if not needed.is_file():
                    present = ", ".join(sorted(p.name for p in path.glob("*.pth"))) or "none"
                    raise SystemExit(f"error: --model {source}: no {needed.name} (weights here: {present}; "
                                     "choose one with --inference_model)")
            kind, sha = "experiment directory", sha256_of(weights)
        else:  # a packed archive or a model-zoo tag
            try:
                config, weights = resolve_slap_model(source, cache_dir, option="--model")
            except ModelSourceError as err:
                raise SystemExit(f"error: {err}") from err
            kind = "packed archive" if path.is_file() else "model-zoo tag"
            sha = sha256_of(path if path.is_file() else weights)
        self.config, self.weights = config, weights
        summary, shown_config = config_summary(config), str(config)
        if kind == "packed archive":  # name files by their place in the archive, not the cache
            unpacked = str(cache_dir / sha[:16])
            shown_config = shown_config.replace(unpacked, "<archive>")
            summary = {k: v.replace(unpacked, "<archive>") for k, v in summary.items()}
        self.identity = ModelIdentity(source=source, kind=kind, sha256=sha, config=shown_config, summary=summary)
        self._slap: Optional[SLAPInference] = None

    @property
    def slap(self) -> SLAPInference:
        if self._slap is None:
            self._slap = SLAPInference(self.config, self.weights, device=self.device, batch_tokens=self.batch_tokens)
        return self._slap


def config_summary(config: Path) -> Dict[str, str]:
    """A few lines that say what the model is, read from its training config."""
    args = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    audio = args.get("audio_encoder_conf") or {}
    text = args.get("text_encoder_conf") or {}
    model = args.get("model_conf") or {}
    return {
        "Audio encoder": f"{args.get('audio_encoder')} ({audio.get('num_layers', '?')} layers, "
                         f"width {audio.get('output_size', '?')}, {audio.get('num_heads', '?')} heads)",
        "Text encoder": f"{args.get('text_encoder')} ({text.get('model_name_or_path', '?')})",
        "Embedding dim": str(model.get("embed_dim", "?")),
        "Caption decoder": str(args.get("caption_decoder") or "none"),
    }


def load_prompts(path: Path) -> Dict[str, dict]:
    """``{set: {"template": str, "ensemble": [str, ...]}}`` with every template checked."""
    if not path.is_file():
        raise SystemExit(f"error: --prompts {path}: no such file")
    prompts = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for name, entry in prompts.items():
        if not isinstance(entry, dict) or "template" not in entry:
            raise SystemExit(f"error: {path}: {name} needs a 'template' (and optionally 'ensemble')")
        try:
            as_template_list(entry["template"])
            if entry.get("ensemble"):
                as_template_list(entry["ensemble"])
        except ValueError as err:
            raise SystemExit(f"error: {path}: {name}: {err}") from err
    return prompts


def corpus_status(data_dir: Path, corpus: str) -> str:
    """What local/data.sh recorded for ``corpus`` ("prepared ..." or "skipped: ...")."""
    status = data_dir / corpus / "status"
    if not status.is_file():
        return "skipped: not prepared (run stage 1, local/data.sh)"
    return status.read_text(encoding="utf-8").strip()


def data_hash(data: Path) -> str:
    return key_of({name: sha256_of(data / name) for name in DATA_FILES if (data / name).is_file()})


def read_stamp(path: Path) -> Optional[str]:
    return path.read_text().strip() if path.is_file() else None


def refresh_corpus(data_dir: Path, corpus: str, variable: str, status: str) -> str:
    """Prepare ``corpus`` again when what it was prepared from changed; returns its status.

    ``local/data.sh`` keeps a corpus prepared from the same ``VAR=path``; this compares each
    of its sets with the signatures in ``prepared_from.json`` (see
    :mod:`espnet2_slap.corpora.sources`) and re-runs the recorded preparation on a change.
    """
    if not status.startswith("prepared"):
        return status
    sets = [data_dir / corpus / subdir for _, subdir in CORPORA[corpus][1]]
    for data in sets:
        if not (data / "wav.scp").is_file():
            continue
        found = sources.changes(data)
        if found is None:
            print(f"{corpus}: {data.name} was prepared before preparations recorded their "
                  f"sources; not checked for changes (delete {data_dir / corpus / 'status'} "
                  f"to prepare it again)")
        if not found:
            continue
        print(f"{corpus}: {variable} changed since {data.name} was prepared "
              f"({'; '.join(found[:3])}{'; ...' if len(found) > 3 else ''}): preparing it again")
        ok, log = sources.prepare_again(data, data_dir / corpus / "prepare.log")
        sys.stderr.write(log)
        if not ok:
            lines = [line for line in log.splitlines() if line.startswith("error:")]
            reason = lines[0] if lines else (log.strip().splitlines() or ["failed"])[-1]
            status = f"skipped: {reason}"
            atomic_write_text(data_dir / corpus / "status", status + "\n")
            print(f"{corpus}: {status} (full message: {data_dir / corpus / 'prepare.log'})")
        return status
    return status


def embed_set(model: Model, name: str, data: Path, out: Path, options) -> str:
    """Audio embeddings (and captions) of ``data`` in ``out``; returns the stamp key."""
    caption = options.caption == "true" and name in CAPTION_SETS
    key = key_of("embed", model.identity.sha256, sha256_of(data / "wav.scp"),
                 sources.recorded_digest(data), caption, options.beam_size,
                 options.max_caption_length)
    if read_stamp(out / "embed.stamp") == key and (out / "audio_embeds.scp").is_file():
        return key
    shutil.rmtree(out, ignore_errors=True)
    args = slap_inference.get_parser().parse_args([
        "--output_dir", str(out),
        "--data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
        "--caption", str(caption).lower(),
        "--beam_size", str(options.beam_size),
        "--max_caption_length", str(options.max_caption_length),
        "--batch_tokens", str(options.batch_tokens),
    ])
    slap_inference.run(args, model.slap)
    atomic_write_text(out / "embed.stamp", key + "\n")
    return key


def score_set(model: Model, name: str, data: Path, out: Path, embed_key: str, prompts: Optional[dict],
              ensemble: bool) -> Tuple[dict, bool]:
    """(slap_score results, whether they came from the cache)."""
    task = BENCHMARKS[name][1]
    used = None
    if task == "zeroshot":
        used = {"template": prompts["template"], "ensemble": list(prompts.get("ensemble") or []) if ensemble else []}
    key = key_of("score", embed_key, data_hash(data), used)
    score_dir = out / "score"
    if read_stamp(score_dir / "stamp") == key and (score_dir / "results.json").is_file():
        return json.loads((score_dir / "results.json").read_text(encoding="utf-8")), True
    argv = ["--task", task, "--data_dir", str(data), "--inference_dir", str(out), "--output_dir", str(score_dir)]
    if task == "zeroshot":
        argv += ["--labels", str(data / "labels"), "--template", used["template"]]
        if used["ensemble"]:
            argv += ["--ensemble_templates", *used["ensemble"]]
    shutil.rmtree(score_dir, ignore_errors=True)
    slap_score.run(slap_score.get_parser().parse_args(argv), model.slap)
    atomic_write_text(score_dir / "stamp", key + "\n")
    return json.loads((score_dir / "results.json").read_text(encoding="utf-8")), False


def cached_result(exp: Path, name: str) -> Optional[Tuple[dict, Optional[dict]]]:
    """``(results, prompts used)`` scored earlier for this model, None when there are none."""
    score_dir = exp / name / "score"
    if read_stamp(score_dir / "stamp") is None or not (score_dir / "results.json").is_file():
        return None
    try:
        summary = json.loads((score_dir / "results.json").read_text(encoding="utf-8"))
        used = json.loads((score_dir / USED_FILE).read_text(encoding="utf-8")).get("prompts")
    except FileNotFoundError:
        used = None
    except ValueError:
        return None
    if used is None and summary.get("template"):  # scored before the prompts were written
        used = {"template": summary["template"],
                "ensemble": summary.get("ensemble_templates") or [], "labels": []}
    return summary, used


USED_FILE = "benchmark.json"


def main(argv: Optional[List[str]] = None) -> Path:
    options = get_parser().parse_args(argv)
    data_dir, exp_root = Path(options.data_dir), Path(options.exp_dir)
    prompts = load_prompts(Path(options.prompts))
    model = Model(options.model, options.inference_model, exp_root / ".model_cache",
                  "cuda" if options.ngpu > 0 else "cpu", options.batch_tokens)
    exp = exp_root / model.identity.sha256[:12]
    exp.mkdir(parents=True, exist_ok=True)
    print(f"model {options.model} ({model.identity.kind}), sha256 {model.identity.sha256[:12]}; results in {exp}")

    results, statuses, used_prompts, failed = {}, [], {}, []
    for corpus in options.corpora:
        variable, sets = CORPORA[corpus]
        status = refresh_corpus(data_dir, corpus, variable, corpus_status(data_dir, corpus))
        for name, subdir in sets:
            data = data_dir / corpus / subdir
            if status.startswith("skipped"):
                reason = status
            elif not (data / "wav.scp").is_file():
                reason = f"skipped: {variable} has no such set ({data} was not written)"
            else:
                reason = None
            if reason:
                print(f"{name}: {reason}")
                statuses.append(SetStatus(name, variable, reason))
                continue
            task = BENCHMARKS[name][1]
            if task == "zeroshot" and name not in prompts:
                raise SystemExit(f"error: --prompts {options.prompts} has no entry for {name}")
            started = time.time()
            try:
                embed_key = embed_set(model, name, data, exp / name, options)
                summary, cached = score_set(model, name, data, exp / name, embed_key,
                                            prompts.get(name), options.prompt_ensemble == "true")
            except Exception as err:  # one broken set never stops the others
                traceback.print_exc()
                reason = f"failed: {type(err).__name__}: {' '.join(str(err).split())}"[:300]
                print(f"{name}: {reason}")
                statuses.append(SetStatus(name, variable, reason))
                failed.append(name)
                continue
            results[name] = summary
            statuses.append(SetStatus(name, variable, "scored", summary.get("n_clips")))
            if task == "zeroshot":
                labels = (data / "labels").read_text(encoding="utf-8").splitlines()
                used_prompts[name] = dict(prompts[name], labels=labels)
                if options.prompt_ensemble != "true":
                    used_prompts[name]["ensemble"] = []
            atomic_write_text(exp / name / "score" / USED_FILE,
                              json.dumps({"prompts": used_prompts.get(name)}, indent=1) + "\n")
            print(f"{name}: {'cached results (same model, data and options)' if cached else 'scored'} "
                  f"({summary.get('n_clips')} clips, {time.time() - started:.1f} s)")

    earlier = add_earlier_results(exp, results, statuses, used_prompts)
    command = options.command or " ".join(shlex.quote(a) for a in [sys.argv[0]] + list(argv or sys.argv[1:]))
    markdown = render_results(model.identity, results, statuses, used_prompts, command,
                              ensemble=options.prompt_ensemble == "true")
    if earlier:
        markdown = markdown.rstrip("\n") + "\n\n" + "\n".join(
            ["Results of an earlier run of this model (not scored by this command), shown "
             "because they are cached in this folder:", ""]
            + [f"- {name}: {why}" for name, why in earlier]) + "\n"
    atomic_write_text(exp / "RESULTS.md", markdown)
    print(f"wrote {exp / 'RESULTS.md'}")
    if failed:
        raise SystemExit(f"error: {len(failed)} set(s) failed: {', '.join(failed)} (the others are "
                         f"in {exp / 'RESULTS.md'}; tracebacks above)")
    return exp / "RESULTS.md"


def add_earlier_results(exp: Path, results: dict, statuses: List[SetStatus],
                        used_prompts: dict) -> List[Tuple[str, str]]:
    """Add every set cached for this model but not scored in this run to ``results``;
    returns ``[(set, why it was not scored now)]``."""
    earlier = []
    for variable, sets in CORPORA.values():
        for name, _ in sets:
            if name in results:
                continue
            found = cached_result(exp, name)
            if found is None:
                continue
            summary, used = found
            now = next((s for s in statuses if s.name == name), None)
            why = now.status if now else "not in --corpora"
            if now is not None and now.status.startswith("failed"):
                continue  # its cache was cleared before the failed attempt
            results[name] = summary
            if used and BENCHMARKS[name][1] == "zeroshot":
                used_prompts[name] = used
            entry = SetStatus(name, variable, "scored", summary.get("n_clips"))
            if now is None:
                statuses.append(entry)
            else:
                statuses[statuses.index(now)] = entry
            earlier.append((name, why))
            print(f"{name}: results of an earlier run shown ({why})")
    return earlier


if __name__ == "__main__":
    main()
