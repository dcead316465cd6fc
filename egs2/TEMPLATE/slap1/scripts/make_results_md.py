#!/usr/bin/env python3
"""Gather the score reports of one experiment into ``<exp_dir>/RESULTS.md``.

    python scripts/make_results_md.py --exp_dir exp/slap_train_slap_tiny \\
        --train_config conf/train_slap_tiny.yaml \\
        --model_file exp/slap_train_slap_tiny/valid.loss.best.pth \\
        --output exp/slap_train_slap_tiny/RESULTS.md

Every ``<exp_dir>/inference_*/<set>/score/results.md`` becomes one section, under a header
with the date, the configuration, the model file and the environment (Python, torch,
torchaudio, espnet, espnet2_slap and transformers versions, git commit). The file is packed
and published with the model, so it names no host, paths are relative to the recipe
directory (``portable_text``), and image links are relative to ``RESULTS.md`` itself.
"""

import argparse
import os
import platform
import re
import subprocess
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import List, Sequence

from espnet2_slap.utils.atomic_files import atomic_write_text

PACKAGES = ("torch", "torchaudio", "espnet", "espnet2_slap", "transformers")


def package_version(name: str) -> str:
    """Installed version of ``name``, or "not installed"."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_commit(directory: Path) -> str:
    """``HEAD`` commit of the checkout holding ``directory``, or why there is none."""
    try:
        return subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unavailable (not a git checkout, or no commit yet)"


def portable_text(text: str, root: Path = None) -> str:
    """``text`` without the training machine's paths: paths under ``root`` (default: the
    current directory, i.e. the recipe) become relative; the Python environment, ``$MAIN_ROOT``
    (the repository, set by path.sh) and the home folder become ``<python>``,
    ``<espnet2_slap>`` and ``~``. The longest prefix is replaced first."""
    root = (root or Path.cwd()).resolve()
    replacements = [(str(root) + "/", ""), (str(root), "."), (sys.prefix, "<python>"),
                    (os.environ.get("MAIN_ROOT", ""), "<espnet2_slap>"), (str(Path.home()), "~")]
    for prefix, replacement in sorted(replacements, key=lambda pair: -len(pair[0])):
        if len(prefix) > 1:
            text = text.replace(prefix, replacement)
    return text


IMAGE_LINK = re.compile(r"(!\[[^\]]*\]\()([^)\s]+)(\))")


def relink_images(markdown: str, prefix: str) -> str:
    """Prefix every relative image link with ``prefix`` (a folder path ending in '/')."""
    def relink(match):
        target = match.group(2)
        if re.match(r"^[a-z]+://", target) or target.startswith("/"):
            return match.group(0)
        return match.group(1) + prefix + target + match.group(3)

    return IMAGE_LINK.sub(relink, markdown)


def demote_headings(markdown: str, levels: int) -> str:
    """Add ``levels`` '#' to every heading outside fenced code blocks."""
    lines, in_code = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            line = "#" * levels + line
        lines.append(line)
    return "\n".join(lines)


def header(exp_dir: Path, train_config: str, model_file: str) -> List[str]:
    """Title and environment lines of RESULTS.md."""
    lines = [
        f"# RESULTS: {exp_dir.name}",
        "",
        "## Environment",
        "",
        f"- date: `{datetime.now().astimezone().strftime('%Y-%m-%d %H:%M:%S %Z')}`",
        f"- platform: {platform.system()} {platform.machine()}",
        f"- python: `{platform.python_version()}`",
    ]
    lines += [f"- {name}: `{package_version(name)}`" for name in PACKAGES]
    lines += [
        f"- git commit: `{git_commit(Path.cwd())}`",
        f"- config: `{train_config}`",
        f"- model file: `{model_file}`",
        "",
    ]
    return lines


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exp_dir", type=Path, required=True,
                        help="experiment directory holding inference_*/<set>/score/")
    parser.add_argument("--train_config", required=True, help="training config named in the header")
    parser.add_argument("--model_file", required=True, help="model file named in the header")
    parser.add_argument("--output", type=Path, required=True, help="the RESULTS.md to write")
    args = parser.parse_args(argv)

    reports = sorted(args.exp_dir.glob("inference_*/*/score/results.md"))
    if not reports:
        print(f"make_results_md.py: error: no inference_*/*/score/results.md under "
              f"{args.exp_dir} (run the scoring stage first)", file=sys.stderr)
        return 1
    lines = header(args.exp_dir, args.train_config, args.model_file)
    for report in reports:
        set_dir = report.parent.parent
        # The report's images sit beside it; RESULTS.md links them from the output's folder.
        link_prefix = os.path.relpath(report.parent, args.output.parent) + "/"
        lines += [
            f"## {set_dir.parent.name} / {set_dir.name}",
            "",
            relink_images(demote_headings(report.read_text(encoding="utf-8").strip(), 2), link_prefix),
            "",
        ]
    atomic_write_text(args.output, portable_text("\n".join(lines)))
    print(f"make_results_md.py: {len(reports)} reports -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
