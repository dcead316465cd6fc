#!/usr/bin/env python3
"""Write the model card (README.md) of a trained SLAP model from ``scripts/model_card.md``.

    python scripts/make_model_card.py --exp_dir exp/slap_train_slap_tiny \\
        --model_file valid.loss.best.pth --model_tag user/slap_tiny \\
        --output exp/slap_train_slap_tiny/README.md

The template's ``${name}`` fields are filled from the options, the experiment's
``config.yaml`` (a configuration summary) and its ``RESULTS.md``. Like RESULTS.md, the card
names no host and no absolute path of the training machine (``portable_text``). Image links
are rewritten relative to the card's folder, so ``--output`` may be anywhere (stage 10 puts
the card at the root of the uploaded folder). ``--list_images`` prints the image files the
card links to, relative to the current directory, one per line, so stage 9 can pack them.
"""

import argparse
import os
import re
import string
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import yaml

from make_results_md import IMAGE_LINK, git_commit, portable_text, relink_images

from espnet2_slap.utils.atomic_files import atomic_write_text

TEMPLATE = Path(__file__).resolve().parent / "model_card.md"


def config_summary(config: dict) -> str:
    """A Markdown list of the parts of a SLAP training config a reader compares first."""
    def conf(key: str) -> dict:
        return config.get(f"{key}_conf") or {}

    def pick(values: dict, *keys: str) -> str:
        shown = [f"{k}={values[k]}" for k in keys if k in values]
        return f" ({', '.join(shown)})" if shown else ""

    text_conf = conf("text_encoder")
    text_name = text_conf.get("model_name_or_path", "")
    if "/text_encoder/" in str(text_name) or str(text_name).endswith("config.json"):
        text_name = "exported with the model"
    rows = [
        ("frontend", f"{config.get('frontend')}"
         + pick(conf("frontend"), "fs", "n_fft", "win_length", "hop_length", "n_mels")),
        ("audio encoder", f"{config.get('audio_encoder')}"
         + pick(conf("audio_encoder"), "output_size", "num_layers", "num_heads", "patch_size",
                "attention_pattern", "window_time_steps")),
        ("text encoder", f"{config.get('text_encoder')} ({text_name})" if text_name
         else f"{config.get('text_encoder')}"),
        ("contrastive loss", f"{config.get('contrastive_loss')}"),
        ("self-distillation", f"{config.get('ssl')}"),
        ("caption decoder", f"{config.get('caption_decoder')}"
         + pick(conf("caption_decoder"), "hidden_size", "num_layers", "num_heads")
         + (f", {config.get('token_type')} tokens" if config.get("token_type") else "")),
        ("model", f"{pick(conf('model'), *sorted(conf('model')))}".strip(" ()") or "defaults"),
        ("optimizer", f"{config.get('optim')}" + pick(conf("optim"), "lr", "weight_decay")),
        ("scheduler", f"{config.get('scheduler')}" + pick(conf("scheduler"), *sorted(conf("scheduler")))),
        ("batches", f"{config.get('batch_tokens', 'n/a')} audio tokens per batch"
         if "batch_tokens" in config else f"{config.get('batch_type')}"),
        ("epochs", f"{config.get('max_epoch')}"),
        ("seed", f"{config.get('seed')}"),
    ]
    return "\n".join(f"- {name}: {value}" for name, value in rows if value not in ("None", ""))


def results_section(results_md: Path) -> str:
    """RESULTS.md below its title, headings one level down, or a note that there is none."""
    if not results_md.is_file():
        return "No results: the model was packed before scoring (stage 8)."
    lines = results_md.read_text(encoding="utf-8").splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join(("#" + line) if line.startswith("#") else line for line in lines).strip()


def linked_images(markdown: str) -> List[str]:
    """Relative image targets of ``markdown``, in order of appearance."""
    return [m.group(2) for m in IMAGE_LINK.finditer(markdown)
            if "://" not in m.group(2) and not m.group(2).startswith("/")]


def default_repo_url() -> str:
    """The ``origin`` remote of the checkout in use (credentials removed), or a placeholder."""
    try:
        url = subprocess.run(["git", "remote", "get-url", "origin"], capture_output=True,
                             text=True, check=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        url = ""
    return re.sub(r"//[^/@]+@", "//", url) or "<URL of the espnet2_slap repository>"


def fields(args: argparse.Namespace) -> Dict[str, str]:
    """The template's fields."""
    config_path = args.exp_dir / "config.yaml"
    with config_path.open(encoding="utf-8") as f:
        config = yaml.safe_load(f) or {}
    datasets = args.datasets or [args.corpus]
    train_args = " ".join(args.train_args.split())
    return {
        "license": args.license,
        "datasets_yaml": "\n".join(f"- {name}" for name in datasets),
        "datasets_text": ", ".join(datasets),
        "model_name": args.exp_dir.name,
        "model_tag": args.model_tag,
        "corpus": args.corpus,
        "repo_url": args.repo_url,
        "reproduce_command": args.reproduce_command,
        "train_config": args.train_config or str(config_path),
        "train_args_text": f" and `--train_args \"{train_args}\"`" if train_args else "",
        "model_file": args.model_file,
        "git_commit": git_commit(Path.cwd()),
        "config_summary": config_summary(config),
        "results": results_section(args.exp_dir / "RESULTS.md"),
    }


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exp_dir", type=Path, required=True,
                        help="experiment directory with config.yaml (and RESULTS.md)")
    parser.add_argument("--model_file", required=True, help="model file name, e.g. valid.loss.best.pth")
    parser.add_argument("--model_tag", required=True,
                        help="what users pass to from_pretrained: a hub repo user/name or a .zip")
    parser.add_argument("--output", type=Path, required=True, help="the card to write")
    parser.add_argument("--corpus", default=Path.cwd().parent.name,
                        help="recipe name, egs2/<corpus>/slap1 [the recipe directory's]")
    parser.add_argument("--datasets", nargs="*", default=[],
                        help="data sets the model was trained on [--corpus]")
    parser.add_argument("--license", default="cc-by-4.0", help="licence of the model weights")
    parser.add_argument("--repo_url", default=default_repo_url(),
                        help="where users clone espnet2_slap from [git remote 'origin']")
    parser.add_argument("--reproduce_command", default="./run.sh",
                        help="the command, run in the recipe directory, that trains this model")
    parser.add_argument("--train_config", default="", help="training config as given to slap.sh")
    parser.add_argument("--train_args", default="", help="--train_args given to slap.sh")
    parser.add_argument("--link_prefix", default=None,
                        help="prefix of the card's image links [--exp_dir relative to --output's folder]")
    parser.add_argument("--list_images", action="store_true",
                        help="also print the image files the card links to")
    args = parser.parse_args(argv)

    template = string.Template(TEMPLATE.read_text(encoding="utf-8"))
    try:
        card = template.substitute(fields(args))
    except (OSError, KeyError, yaml.YAMLError) as err:
        print(f"make_model_card.py: error: {err}", file=sys.stderr)
        return 1
    # RESULTS.md links images relative to the experiment directory; the card may live elsewhere.
    prefix = args.link_prefix
    if prefix is None:
        prefix = os.path.relpath(args.exp_dir, args.output.parent) + "/"
    card = portable_text(relink_images(card, "" if prefix == "./" else prefix))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.output, card)
    missing = [t for t in linked_images(card) if not (args.output.parent / t).is_file()]
    if missing:
        print(f"make_model_card.py: error: {args.output} links to missing images: {missing}",
              file=sys.stderr)
        return 1
    if args.list_images:
        for target in linked_images(card):
            print(os.path.relpath(args.output.parent / target))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
