"""What fine-tuning takes from a pretrained SLAP model, in one folder.

    python -m espnet2_slap.bin.slap_export_pretrained \\
        --pretrained_model ../../wavcaps/slap1/exp/slap_train_slap_paper \\
        --train_config conf/finetune_slap_paper.yaml --out_dir exp/pretrained

``--pretrained_model`` is an experiment directory (``config.yaml`` and a model file), a
``.pth`` file beside its ``config.yaml``, a packed model (``slap_pack``'s zip) or a model-zoo
tag (needs network). Writes to ``--out_dir``:

    model.pth          link to the pretrained weights (training's --init_param)
    tokens.txt         the caption decoder's token list (the fine-tuned model keeps it)
    bpe.model          its sentencepiece model (token_type bpe)
    feats_stats.npz    its GlobalMVN statistics (normalize global_mvn)
    config.yaml        the pretrained configuration, for reference

The recipe template (``slap.sh --pretrained_model``) uses these instead of training a new
token list and new statistics, so the fine-tuned model reads captions and features exactly as
the pretrained one did. Settings that must agree between the pretrained configuration and the
fine-tuning ``--train_config`` (frontend, normalization, caption token type, text encoder)
are checked: a mismatch is an error naming both values.
"""

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from espnet2_slap.utils.model_source import ModelSourceError, resolve_slap_model



class PretrainedModelError(RuntimeError):
    """The pretrained model cannot be used for this fine-tuning; the message says why."""


def find_file(name: str, config_path: Path, what: str) -> Path:
    """A path from a config: as given, else relative to the recipe that holds the experiment."""
    candidates = [Path(name)] + [base / name for base in (config_path.parent.parent.parent,
                                                           config_path.parent.parent,
                                                           config_path.parent)]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise PretrainedModelError(f"{config_path}: {what} {name} does not exist")
    return found


def check_agreement(pretrained: Dict, finetune: Dict, pretrained_path: Path,
                    finetune_path: str) -> None:
    """Raise when a setting that must match differs (frontend, normalize, tokens, text encoder)."""
    problems: List[str] = []
    for key in ("frontend", "normalize", "token_type", "text_encoder"):
        if key in finetune and finetune[key] != pretrained.get(key):
            problems.append(f"{key}: {finetune[key]!r} here, {pretrained.get(key)!r} pretrained")
    pre_front, fine_front = pretrained.get("frontend_conf") or {}, finetune.get("frontend_conf") or {}
    for key in sorted(set(pre_front) & set(fine_front)):
        if str(pre_front[key]) != str(fine_front[key]):
            problems.append(f"frontend_conf.{key}: {fine_front[key]!r} here, "
                            f"{pre_front[key]!r} pretrained")
    if finetune.get("caption_decoder") and not pretrained.get("token_list"):
        problems.append("caption_decoder: the pretrained model has no caption token list")
    if problems:
        raise PretrainedModelError(
            f"--train_config {finetune_path} does not match the pretrained model "
            f"{pretrained_path}: " + "; ".join(problems))


def export(pretrained_model: str, out_dir: Path, train_config: Optional[str] = None,
           cache_dir: Optional[Path] = None) -> Dict[str, Path]:
    """Write the fine-tuning inputs (see the module doc); returns ``{file name: path}``."""
    out_dir = Path(out_dir)
    config_path, weights = resolve_slap_model(pretrained_model, Path(cache_dir or out_dir / "cache"),
                                              option="--pretrained_model")
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    if train_config:
        finetune = yaml.safe_load(Path(train_config).read_text(encoding="utf-8")) or {}
        check_agreement(config, finetune, config_path, train_config)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: Dict[str, Path] = {}

    link = out_dir / "model.pth"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(weights.resolve(), link)
    written["model.pth"] = link
    shutil.copyfile(config_path, out_dir / "config.yaml")
    written["config.yaml"] = out_dir / "config.yaml"

    token_list = config.get("token_list")
    if token_list:
        if isinstance(token_list, str):
            token_list = find_file(token_list, config_path, "token_list").read_text(
                encoding="utf-8").splitlines()
        (out_dir / "tokens.txt").write_text("".join(f"{t}\n" for t in token_list),
                                            encoding="utf-8")
        written["tokens.txt"] = out_dir / "tokens.txt"
    if config.get("token_type", "bpe") == "bpe" and config.get("bpemodel"):
        shutil.copyfile(find_file(config["bpemodel"], config_path, "bpemodel"),
                        out_dir / "bpe.model")
        written["bpe.model"] = out_dir / "bpe.model"
    stats_file = (config.get("normalize_conf") or {}).get("stats_file")
    if config.get("normalize") == "global_mvn":
        if not stats_file:
            raise PretrainedModelError(f"{config_path}: normalize is global_mvn but "
                                       f"normalize_conf.stats_file is not set")
        shutil.copyfile(find_file(stats_file, config_path, "normalize_conf.stats_file"),
                        out_dir / "feats_stats.npz")
        written["feats_stats.npz"] = out_dir / "feats_stats.npz"
    return written


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Export a pretrained SLAP model's weights, "
                                     "caption token list, BPE model and GlobalMVN statistics "
                                     "for fine-tuning")
    parser.add_argument("--pretrained_model", required=True,
                        help="experiment dir, .pth beside its config.yaml, packed zip, or "
                        "model-zoo tag")
    parser.add_argument("--out_dir", required=True, help="folder the files are written to")
    parser.add_argument("--train_config", default=None,
                        help="the fine-tuning config, checked against the pretrained one")
    parser.add_argument("--cache_dir", default=None,
                        help="where archives are unpacked (default: <out_dir>/cache)")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    try:
        written = export(args.pretrained_model, Path(args.out_dir), args.train_config,
                         Path(args.cache_dir) if args.cache_dir else None)
    except (PretrainedModelError, ModelSourceError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for name, path in written.items():
        print(f"{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
