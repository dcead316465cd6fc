#!/usr/bin/env python3
"""Fetch a packed SLAP model for evaluation: a local ``.zip`` or a model-zoo / Hub tag.

    python scripts/download_model.py --model_tag user/slap_model --output exp/slap_user_slap_model/model_files

Unpacks the model (a tag goes through ``espnet_model_zoo`` and needs network) into the
plugin's cache, the same place ``SLAPInference.from_pretrained`` uses, and writes
``--output``: two lines, ``slap_train_config <path>`` and ``slap_model_file <path>``, which
slap.sh stages 7-8 read. Doing this once, before the parallel inference jobs, means the jobs
never download or unpack concurrently.
"""

import argparse
import sys
from pathlib import Path
from typing import Sequence


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model_tag", required=True, help="packed .zip or model-zoo / Hub tag")
    parser.add_argument("--output", type=Path, required=True,
                        help="file to write the unpacked config and model paths to")
    parser.add_argument("--cache_dir", type=Path, default=None,
                        help="where models are unpacked [the plugin's cache, ~/.cache/espnet2_slap]")
    args = parser.parse_args(argv)

    from espnet2_slap.utils.atomic_files import atomic_write_text
    from espnet2_slap.utils.model_source import resolve_slap_model

    try:
        config, weights = resolve_slap_model(args.model_tag, args.cache_dir, option="--model_tag")
    except Exception as err:  # the zoo and the hub raise many types
        print(f"download_model.py: error: cannot fetch {args.model_tag!r}: {err}", file=sys.stderr)
        return 1
    files = {"slap_train_config": config, "slap_model_file": weights}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        args.output,
        "".join(f"{k} {files[k]}\n" for k in ("slap_train_config", "slap_model_file")),
    )
    print(f"download_model.py: {args.model_tag} -> {Path(files['slap_model_file']).parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
