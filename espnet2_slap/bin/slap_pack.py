"""Pack a trained SLAP model into one self-contained archive for sharing.

    python -m espnet2_slap.bin.slap_pack \\
        --slap_train_config exp/slap_tiny/config.yaml \\
        --slap_model_file exp/slap_tiny/valid.loss.best.pth \\
        --option exp/slap_tiny/RESULTS.md --outpath exp/slap_tiny/slap_tiny_valid.loss.best.zip

Besides the config and weights, the archive gets everything the config points to: the
GlobalMVN statistics, the caption decoder's sentencepiece model, and the text encoder's
tokenizer and architecture config (exported next to the config), so the model loads offline
with ``SLAPInference.from_pretrained(<zip>)`` without the text encoder's original source.
The text encoder's weights live in the SLAP checkpoint, so the exported encoder is built
with ``pretrained: false``.
"""

import argparse
import contextlib
import copy
import io
from pathlib import Path
from typing import List, Optional

import yaml
from espnet2.main_funcs.pack_funcs import pack
from transformers import AutoConfig, AutoTokenizer

from espnet2_slap.utils.atomic_files import atomic_open, atomic_path
from espnet2_slap.utils.pretrained_path import resolve_pretrained_path

TEXT_ENCODER_DIR = "text_encoder"
PACKED_CONFIG = "config_packed.yaml"


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Pack a SLAP model (ESPnet pack format)")
    parser.add_argument("--slap_train_config", required=True, help="the experiment's config.yaml")
    parser.add_argument("--slap_model_file", required=True, help="the weights to pack (.pth)")
    parser.add_argument("--option", action="append", default=[], help="extra files/dirs to add")
    parser.add_argument("--outpath", required=True, help="archive (.zip, .tgz, ...)")
    return parser


def archived_name(path) -> str:
    """The name ``pack`` gives a file in the archive (resolved, relative to the cwd if inside).

    Unpacking rewrites config values equal to a member name into the unpacked path, so the
    packed config must use exactly these names.
    """
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(Path(".").resolve()))
    except ValueError:
        return str(resolved)


def export_packable_config(config_path: Path) -> List[Path]:
    """Write ``config_packed.yaml`` beside the config; returns the files it refers to.

    The text encoder's tokenizer and HF config are saved to ``<exp>/text_encoder/`` and the
    packed config points at that folder's ``config.json``.
    """
    with config_path.open(encoding="utf-8") as f:
        config = yaml.safe_load(f)
    packed = copy.deepcopy(config)
    referenced: List[Path] = []

    text_conf = packed.get("text_encoder_conf") or {}
    if packed.get("text_encoder") == "huggingface":
        export_dir = config_path.parent / TEXT_ENCODER_DIR
        source = text_conf.get("model_name_or_path")
        tokenizer_source = text_conf.get("tokenizer_name_or_path") or source
        if text_conf.get("model_type") is not None:
            hf_config = AutoConfig.for_model(text_conf["model_type"], **(text_conf.get("config_overrides") or {}))
        else:
            hf_config = AutoConfig.from_pretrained(
                resolve_pretrained_path(source), **(text_conf.get("config_overrides") or {})
            )
        hf_config.save_pretrained(export_dir)
        AutoTokenizer.from_pretrained(resolve_pretrained_path(tokenizer_source)).save_pretrained(export_dir)
        entry = archived_name(export_dir / "config.json")
        packed["text_encoder_conf"] = dict(
            text_conf,
            model_name_or_path=entry,
            tokenizer_name_or_path=entry,
            pretrained=False,
            model_type=None,
            config_overrides={},
        )
        referenced.append(export_dir)

    stats_file = (packed.get("normalize_conf") or {}).get("stats_file")
    if stats_file is not None:
        packed["normalize_conf"] = dict(packed["normalize_conf"], stats_file=archived_name(stats_file))
        referenced.append(Path(stats_file))
    if packed.get("bpemodel") is not None:
        referenced.append(Path(packed["bpemodel"]))
        packed["bpemodel"] = archived_name(packed["bpemodel"])

    out = config_path.parent / PACKED_CONFIG
    with atomic_open(out, "w", encoding="utf-8") as f:
        yaml.safe_dump(packed, f, sort_keys=False)
    for path in referenced:
        if not path.exists():
            raise FileNotFoundError(f"{config_path}: refers to {path}, which does not exist")
    return [out] + referenced


def main(cmd: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    for path in [args.slap_train_config, args.slap_model_file] + args.option:
        if not Path(path).exists():
            raise SystemExit(f"error: no such file or directory: {path}")
    packed_config, *referenced = export_packable_config(Path(args.slap_train_config))
    # ESPnet's pack writes the archive in place: it goes to a temporary name and is renamed
    # when complete, so a failure (full disk) leaves the previous archive or none.
    Path(args.outpath).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.outpath) as partial, contextlib.redirect_stdout(io.StringIO()):
        pack(
            files=dict(slap_model_file=args.slap_model_file),
            yaml_files=dict(slap_train_config=str(packed_config)),
            option=[str(p) for p in referenced] + args.option,
            outpath=str(partial),
        )
    print(f"Generate: {args.outpath}")  # ESPnet's message, naming the final archive


if __name__ == "__main__":
    main()
