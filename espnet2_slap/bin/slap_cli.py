"""``slap``: a command for people — embed, classify, search and caption audio files.

    slap embed    sounds/ --model packed_model.zip --out sounds.npz
    slap classify a.wav b.flac --model packed_model.zip --labels dog "church bell" piano
    slap search   sounds/ --model packed_model.zip --query "a dog barks" --top-k 5
    slap caption  a.wav --model packed_model.zip --beam-size 3
    slap locate   clip.wav --model packed_model.zip --query "a dog barks"

Folders are scanned (recursively) for audio files. A file that cannot be used (unreadable,
empty, NaN samples) is reported on stderr and skipped; the others are still processed. The
exit status is 0 when at least one file was processed, 1 when none could be, 2 on usage errors.
Standard output holds only the results (``--json``: one JSON document); progress, warnings
and other libraries' notices go to stderr. Files longer than 30 s are read window by window
by ``embed``, ``classify`` and ``search``, and the ``--out`` index is written whole or not at all.
"""

# The model code (torch, ESPnet) is imported when a command runs, not at start-up, so that
# ``slap --help`` and usage errors answer at once.
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from espnet2_slap.utils.atomic_files import atomic_path

if TYPE_CHECKING:
    import torch

    from espnet2_slap.inference.embedding_index import EmbeddingIndex
    from espnet2_slap.inference.slap_inference import SLAPInference

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".opus", ".aiff", ".aif", ".au"}
WINDOWED = ("embed", "classify", "search")  # commands that read long files window by window


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slap", description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", required=True,
                        help="packed model .zip (slap.sh stage 9) or model-zoo / Hub tag")
    common.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    common.add_argument("--batch-size", type=int, default=16,
                        help="files embedded per step (default: 16)")
    common.add_argument("--json", action="store_true", help="print results as JSON")
    common.add_argument("--quiet", action="store_true", help="no progress bar")

    sub = parser.add_subparsers(dest="command", required=True)
    embed = sub.add_parser("embed", parents=[common], help="embed audio files into an index")
    embed.add_argument("paths", nargs="+", help="audio files or folders")
    embed.add_argument("--out", required=True, help="index file to write (.npz)")

    classify = sub.add_parser("classify", parents=[common], help="zero-shot classification")
    classify.add_argument("paths", nargs="+", help="audio files or folders")
    labels = classify.add_mutually_exclusive_group(required=True)
    labels.add_argument("--labels", nargs="+", help="class labels")
    labels.add_argument("--labels-file", help="one class label per line")
    classify.add_argument("--template", default="the sound of {label}",
                          help="text prompt of a class; {label} is replaced by the label "
                          "(default: 'the sound of {label}')")
    classify.add_argument("--top-k", type=int, default=3,
                          help="labels printed per file (default: 3)")

    search = sub.add_parser("search", parents=[common], help="find audio matching a text query")
    search.add_argument("paths", nargs="*", help="audio files or folders to search")
    search.add_argument("--index", help="an index from 'slap embed' instead of paths")
    search.add_argument("--query", required=True, action="append", help="text query (repeatable)")
    search.add_argument("--top-k", type=int, default=5, help="files printed per query (default: 5)")
    search.add_argument("--rerank-weight", type=float, default=None,
                        help="re-rank the best --rerank-depth files by cosine + WEIGHT * the "
                        "caption decoder's mean log-likelihood of the query (default: off)")
    search.add_argument("--rerank-depth", type=int, default=20,
                        help="files re-ranked per query (default: 20)")

    caption = sub.add_parser("caption", parents=[common], help="describe audio files in words")
    caption.add_argument("paths", nargs="+", help="audio files or folders")
    caption.add_argument("--beam-size", type=int, default=1,
                         help="beam search width, 1 for greedy decoding (default: 1)")
    caption.add_argument("--max-length", type=int, default=30,
                         help="most tokens per caption (default: 30)")

    locate = sub.add_parser("locate", parents=[common], help="where in a clip a sound is heard")
    locate.add_argument("paths", nargs="+", help="audio files or folders")
    locate.add_argument("--query", required=True, action="append", help="text query (repeatable)")
    locate.add_argument("--threshold", type=float, default=None,
                        help="cosine similarity above which a time step is reported (default: "
                        "halfway between the curve's min and max)")
    locate.add_argument("--plot-dir", default=".",
                        help="folder for <file>.locate.png, the curve over the spectrogram "
                        "(default: .)")
    locate.add_argument("--no-plot", action="store_true", help="write no PNG")
    return parser


def find_audio_files(paths: Sequence[str]) -> Tuple[List[Path], List[Tuple[str, str]]]:
    """Expand folders into their audio files; returns (files, [(path, problem)])."""
    files, problems = [], []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                problems.append((name, "folder has no audio files"))
            files += found
        elif path.is_file():
            files.append(path)
        else:
            problems.append((name, "no such file or folder"))
    return files, problems


def load_all(
    slap: SLAPInference, files: List[Path], quiet: bool, whole: bool = True
) -> Tuple[Dict[str, torch.Tensor | str], List[Tuple[str, str]]]:
    """Waveforms of the readable files, and the problems of the others.

    With ``whole=False`` a file longer than the model encodes whole is decoded here only to
    check it (nothing kept) and stays a path, which ``embed_audio`` reads window by window:
    memory does not grow with its duration.
    """
    from espnet2_slap.inference.audio_input import AudioFileWindows, AudioInputError

    waves, problems = {}, []
    for path in tqdm(files, desc="reading", disable=quiet, unit="file"):
        try:
            clip = slap.load(path) if whole else slap.open(path)
            if isinstance(clip, AudioFileWindows):
                clip.check()
                clip = str(path)
            waves[str(path)] = clip
        except AudioInputError as err:
            problems.append((str(path), str(err)))
    return waves, problems


def in_batches(items: Dict[str, torch.Tensor], size: int, desc: str, quiet: bool):
    keys = list(items)
    bar = tqdm(total=len(keys), desc=desc, disable=quiet, unit="file")
    for start in range(0, len(keys), size):
        batch = keys[start : start + size]
        yield batch, [items[k] for k in batch]
        bar.update(len(batch))
    bar.close()


def embed_waves(slap, waves, args) -> EmbeddingIndex:
    from espnet2_slap.inference.embedding_index import EmbeddingIndex

    rows = []
    for keys, batch in in_batches(waves, args.batch_size, "embedding", args.quiet):
        rows.append(slap.embed_audio(batch, slap.sample_rate))
    return EmbeddingIndex(list(waves), np.concatenate(rows))


def run(args: argparse.Namespace) -> Tuple[object, List[Tuple[str, str]]]:
    """Execute a subcommand; returns (result to print, problems)."""
    from espnet2_slap.inference.embedding_index import EmbeddingIndex
    from espnet2_slap.inference.slap_inference import SLAPInference

    slap = SLAPInference.from_pretrained(args.model, device=args.device)
    if args.command == "search" and args.index is not None:
        index, problems = EmbeddingIndex.load(args.index), []
    else:
        files, problems = find_audio_files(args.paths)
        waves, unreadable = load_all(slap, files, args.quiet, args.command not in WINDOWED)
        problems += unreadable
        if not waves:
            return None, problems

    if args.command == "embed":
        index = embed_waves(slap, waves, args)
        out = args.out if args.out.endswith(".npz") else f"{args.out}.npz"  # as np.savez names it
        with atomic_path(out) as partial:  # a failed write leaves the previous index
            index.save(partial)
        return {"index": out, "files": len(index)}, problems
    if args.command == "classify":
        labels = args.labels or read_labels(args.labels_file)
        result = {}
        for keys, batch in in_batches(waves, args.batch_size, "classifying", args.quiet):
            ranked = slap.classify(batch, labels, args.template, slap.sample_rate, args.top_k)
            result.update(zip(keys, ranked))
        return result, problems
    if args.command == "search":
        if args.index is None:
            index = embed_waves(slap, waves, args)
        hits = slap.retrieve_audio(args.query, index, args.top_k, args.rerank_weight,
                                   args.rerank_depth, None if args.index else waves)
        return dict(zip(args.query, hits)), problems
    if args.command == "locate":
        from espnet2_slap.inference.locate import locate_waves

        plot_dir = None if args.no_plot else args.plot_dir
        return locate_waves(slap, waves, args.query, args.threshold, plot_dir), problems
    captions = {}
    for keys, batch in in_batches(waves, 1, "captioning", args.quiet):
        captions.update(
            zip(keys, slap.caption(batch, slap.sample_rate, args.beam_size, args.max_length))
        )
    return captions, problems


def read_labels(path: str) -> List[str]:
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def print_result(command: str, result, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    elif command == "embed":
        print(f"wrote {result['files']} embeddings to {result['index']}")
    elif command == "locate":
        for key, located in result.items():
            print(key + (f"  (plot: {located['png']})" if located["png"] else ""))
            for query, curve in located["queries"].items():
                print(f"  {query!r} (threshold {curve['threshold']:.3f}):")
                for start, end in curve["segments"]:
                    print(f"    {start:7.2f} s - {end:7.2f} s")
    elif command in ("classify", "search"):
        for key, ranked in result.items():
            print(key)
            for rank, (name, score) in enumerate(ranked, 1):
                print(f"  {rank}. {score:.3f}  {name}")
    else:
        for key, text in result.items():
            print(f"{key}\t{text}")


@contextlib.contextmanager
def results_only_on_stdout():
    """What is printed inside goes to stderr: other libraries' notices (ESPnet's about
    flash-attn, ...) must not mix with the results (``--json``). Python prints are redirected,
    and so is file descriptor 1 (C libraries, child processes) when stdout has one."""
    sys.stdout.flush()
    try:
        stdout_fd, stderr_fd = sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # e.g. captured by a test: Python level only
        stdout_fd = None
    saved = None
    if stdout_fd is not None:
        saved = os.dup(stdout_fd)
        os.dup2(stderr_fd, stdout_fd)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            sys.stdout.flush()
            os.dup2(saved, stdout_fd)
            os.close(saved)


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if args.command == "search" and not args.paths and args.index is None:
        print("slap search: give audio paths or --index", file=sys.stderr)
        return 2
    try:
        with results_only_on_stdout():
            result, problems = run(args)
    except (FileNotFoundError, ValueError) as err:
        print(f"slap {args.command}: error: {err}", file=sys.stderr)
        return 2
    for name, problem in problems:
        print(f"skipped {name}: {problem}", file=sys.stderr)
    if result is None:
        print(f"slap {args.command}: no usable audio", file=sys.stderr)
        return 1
    print_result(args.command, result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
