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
the pretrained one did. ``--init_param`` loads every tensor whose name and shape fit, so a
network that differs only in, say, its attention heads, window or pattern would take the
weights silently: every setting that changes the function the weights compute must agree
between the pretrained configuration and the fine-tuning ``--train_config``
(:func:`check_agreement`, defaults filled in from the classes); a mismatch is an error
naming both values. Settings of how the model trains (loss weights, mask ratio, EMA
momentum, temperatures, dropout, SpecAugment) and run-time choices (attention backend,
activation checkpointing) may differ.
"""

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

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


# Component -> the settings of its ``*_conf`` that leave the function of the weights unchanged
HOW_IT_TRAINS = {
    "frontend": (),
    "normalize": ("stats_file",),  # the statistics come with the model
    "audio_encoder": ("attention_backend", "activation_checkpointing", "compile"),
    # the Hugging Face architecture is compared from the resolved configs instead
    "text_encoder": ("pretrained", "max_length", "model_name_or_path", "tokenizer_name_or_path",
                     "model_type", "config_overrides"),
    "contrastive_loss": None,  # its weights (temperature, bias) come from the model
    "ssl": ("mask_ratio", "momentum_start", "momentum_end", "loss_conf"),
    "caption_decoder": ("dropout", "label_smoothing", "check_values"),
    "model": ("clap_weight", "ssl_weight", "caption_weight", "ssl_forward"),
}
# Hugging Face config entries that describe the file, not the network
_HF_META = ("_name_or_path", "transformers_version", "architectures", "torch_dtype", "dtype",
            "_attn_implementation_autoset", "id2label", "label2id")


def _plain(value: Any) -> Any:
    """YAML/argparse values compared as JSON (tuples and lists alike)."""
    return json.loads(json.dumps(value, default=str))


def _flatten(conf: Dict, prefix: str) -> Dict[str, Any]:
    flat = {}
    for key, value in conf.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}.{key}"))
        else:
            flat[f"{prefix}.{key}"] = _plain(value)
    return flat


def function_settings(config: Dict) -> Dict[str, Any]:
    """Every setting of a SLAP config that changes what its weights compute, flattened
    (``audio_encoder_conf.num_heads``), with the classes' defaults filled in."""
    from espnet2.utils.get_default_kwargs import get_default_kwargs

    from espnet2_slap.ssl.head import SSLProjectionHead
    from espnet2_slap.tasks.slap import SLAPTask

    choices = {c.name: c for c in SLAPTask.class_choices_list}
    settings: Dict[str, Any] = {"token_type": config.get("token_type", "bpe")}
    for name, exempt in HOW_IT_TRAINS.items():
        chosen = config.get(name, choices[name].default)
        settings[name] = chosen
        if chosen is None or exempt is None or chosen not in choices[name].classes:
            continue
        conf = get_default_kwargs(choices[name].get_class(chosen))
        conf.update(config.get(f"{name}_conf") or {})
        if name == "ssl":
            conf["head_conf"] = dict(get_default_kwargs(SSLProjectionHead),
                                     **(conf.get("head_conf") or {}))
        conf = {k: v for k, v in conf.items() if k not in exempt and k != "input_size"}
        settings.update(_flatten(conf, f"{name}_conf"))
    return settings


def hf_architecture(text_conf: Dict) -> Optional[Dict[str, Any]]:
    """The Hugging Face config a ``huggingface`` text encoder builds, or None if unreadable."""
    from transformers import AutoConfig

    from espnet2_slap.utils.pretrained_path import resolve_pretrained_path

    overrides = dict(text_conf.get("config_overrides") or {})
    try:
        if text_conf.get("model_type") is not None:
            config = AutoConfig.for_model(text_conf["model_type"], **overrides)
        else:
            config = AutoConfig.from_pretrained(
                resolve_pretrained_path(text_conf["model_name_or_path"]), **overrides)
    except (OSError, ValueError, KeyError):  # e.g. a hub id on an offline machine
        return None
    return {k: _plain(v) for k, v in config.to_dict().items() if k not in _HF_META}


def check_agreement(pretrained: Dict, finetune: Dict, pretrained_path: Path,
                    finetune_path: str) -> None:
    """Raise when a setting that changes the function of the weights differs.

    Components that only one side uses (a caption decoder added for fine-tuning, an SSL
    objective left out) are not compared: their tensors are new, or ``--init_param``
    refuses them by name.
    """
    problems: List[str] = []
    pre, fine = function_settings(pretrained), function_settings(finetune)
    unused = {name for name in HOW_IT_TRAINS if pre[name] is None or fine[name] is None}
    for key in sorted(set(pre) | set(fine)):
        if key.split("_conf.")[0] in unused or key in unused:
            continue
        if pre.get(key) != fine.get(key):
            problems.append(f"{key}: {fine.get(key)!r} here, {pre.get(key)!r} pretrained")
    if pre["text_encoder"] == fine["text_encoder"] == "huggingface":
        pre_hf = hf_architecture(pretrained.get("text_encoder_conf") or {})
        fine_hf = hf_architecture(finetune.get("text_encoder_conf") or {})
        for key in sorted(set(pre_hf or {}) & set(fine_hf or {})):
            if pre_hf[key] != fine_hf[key]:
                problems.append(f"text_encoder_conf (Hugging Face config) {key}: "
                                f"{fine_hf[key]!r} here, {pre_hf[key]!r} pretrained")
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
