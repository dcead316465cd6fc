#!/usr/bin/env python3
"""Copy a data directory, dropping clips that cannot train and reporting the long ones.

    python scripts/filter_by_duration.py --fs 16000 --min_seconds 0.5 --max_seconds 30 \\
        dump/raw/org/train dump/raw/train

Every file in ``wav.scp`` is read, in ``--nj`` processes: its header (``soundfile.info``)
and then all of its samples (``--decode true``, the default), block by block, so a file that
a later stage could not load never reaches it (a FLAC cut in half has a valid header; it
fails only while decoding, e.g. "flac decoder lost sync"). The decoding time is printed;
16 kHz FLAC decodes at about 5000x real time per process (a set the size of the demo's
training set, 1200 clips, 2.45 h, in 1.8 s; headers only: 0.1 s).
An utterance is dropped, with the reason written to ``<out_dir>/dropped_utts``
(``<utt-id> <reason> <detail>``), when its file is

* ``missing_file``: not there; ``empty_file``: 0 bytes; ``unreadable``: no audio header
  (corrupt, truncated inside the header, not audio); ``zero_length``: a header with 0 samples;
  ``wrong_sample_rate``: not at ``--fs`` (stage 2 formats every clip to it);
  ``undecodable``: its samples cannot all be decoded (truncated or corrupt after the header);
* ``too_short``: shorter than ``--min_seconds``;
* ``no_caption`` / ``empty_caption``: no ``text`` line, or one with an empty caption.

Clips longer than ``--max_seconds`` are kept: training loads a random ``--max_seconds``
window of them (the task's ``--crop_seconds``); they are counted as "will be cropped".
A ``wav.scp`` entry that is a command (``... |``) has no file to check and is kept.
Durations come from the headers (``utt2num_samples`` is only filtered). Per-utterance files
(``wav.scp``, ``text``, ``text_refs``, every ``utt2*``) are filtered, ``spk2utt`` is rebuilt
from the filtered ``utt2spk``, other files (``labels``, ...) are copied. The output directory
is built next to its final place and renamed into it, so it is complete or absent.
"""

import argparse
import os
import shutil
import sys
import time
from collections import Counter, defaultdict
from functools import partial
from multiprocessing import Pool
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

import soundfile

REASONS = (
    "missing_file",
    "empty_file",
    "unreadable",
    "zero_length",
    "wrong_sample_rate",
    "undecodable",
    "too_short",
    "no_caption",
    "empty_caption",
)


def read_two_columns(path: Path) -> Dict[str, str]:
    """``<utt-id> <rest of line>`` lines -> {utt id: rest} (rest may be empty)."""
    entries: Dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            fields = line.rstrip("\n").split(maxsplit=1)
            if fields:
                entries[fields[0]] = fields[1].strip() if len(fields) == 2 else ""
    return entries


DECODE_BLOCK = 1 << 18  # frames per read while decoding (bounded memory for long files)


def decode_problem(entry: str, frames: int) -> Optional[str]:
    """Why not all ``frames`` samples of ``entry`` decode (None: they do); reads every block."""
    decoded = 0
    try:
        with soundfile.SoundFile(entry) as handle:
            while decoded < frames:
                block = handle.read(min(DECODE_BLOCK, frames - decoded), dtype="int16")
                if len(block) == 0:
                    break
                decoded += len(block)
    except Exception as error:  # libsndfile: "flac decoder lost sync", ...
        message = " ".join(str(error).split())
        return f"{entry} ({type(error).__name__}: {message}, after {decoded} of {frames} samples)"
    if decoded < frames:
        return f"{entry} (ends after {decoded} of the {frames} samples of its header)"
    return None


def audio_problem(
    entry: str, fs: int, decode: bool = True
) -> Tuple[Optional[str], str, float]:
    """``(reason or None, detail, seconds)`` of one ``wav.scp`` entry; commands are not read."""
    if entry.endswith("|"):
        return None, "command", -1.0
    if not os.path.isfile(entry):
        return "missing_file", entry, 0.0
    if os.path.getsize(entry) == 0:
        return "empty_file", entry, 0.0
    try:
        info = soundfile.info(entry)
    except Exception as error:  # any libsndfile failure: the file is not readable audio
        message = " ".join(str(error).split())
        return "unreadable", f"{entry} ({type(error).__name__}: {message})", 0.0
    if info.frames <= 0:
        return "zero_length", entry, 0.0
    if info.samplerate != fs:
        return "wrong_sample_rate", f"{entry} ({info.samplerate} Hz, expected {fs})", 0.0
    problem = decode_problem(entry, info.frames) if decode else None
    if problem is not None:
        return "undecodable", problem, 0.0
    return None, entry, info.frames / info.samplerate


def check_utterances(
    wav_scp: Dict[str, str],
    captions: Dict[str, str],
    fs: int,
    min_seconds: float,
    max_seconds: float,
    nj: int,
    decode: bool = True,
) -> Tuple[Dict[str, Tuple[str, str]], Set[str], int]:
    """``(dropped {utt: (reason, detail)}, utts to crop, commands not checked)``."""
    utt_ids = list(wav_scp)
    entries = [wav_scp[u] for u in utt_ids]
    check = partial(audio_problem, fs=fs, decode=decode)
    if nj > 1:
        with Pool(nj) as pool:
            results = pool.map(check, entries, chunksize=max(1, len(entries) // (8 * nj)))
    else:
        results = [check(e) for e in entries]
    dropped: Dict[str, Tuple[str, str]] = {}
    cropped: Set[str] = set()
    unchecked = 0
    for utt_id, (reason, detail, seconds) in zip(utt_ids, results):
        if reason is None and detail == "command":
            unchecked += 1
        elif reason is None and seconds < min_seconds:
            reason, detail = "too_short", f"{seconds:.3f} s < {min_seconds} s"
        if reason is None and utt_id not in captions:
            reason, detail = "no_caption", "no line in text"
        elif reason is None and not captions[utt_id]:
            reason, detail = "empty_caption", "empty caption in text"
        if reason is not None:
            dropped[utt_id] = (reason, detail)
        elif seconds > max_seconds:
            cropped.add(utt_id)
    return dropped, cropped, unchecked


def is_per_utterance(name: str) -> bool:
    """Files with one or more ``<utt-id> ...`` lines per utterance."""
    return name in ("wav.scp", "text", "text_refs") or name.startswith("utt2")


def filter_lines(path: Path, keep: Set[str]) -> List[str]:
    """The lines of ``path`` whose first field is in ``keep``."""
    kept = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            fields = line.split(maxsplit=1)
            if fields and fields[0] in keep:
                kept.append(line)
    return kept


def spk2utt_lines(utt2spk_lines: Sequence[str]) -> List[str]:
    """``spk utt1 utt2 ...`` lines from ``utt spk`` lines, sorted by speaker."""
    utts_of: Dict[str, List[str]] = defaultdict(list)
    for line in utt2spk_lines:
        utt_id, speaker = line.split()[:2]
        utts_of[speaker].append(utt_id)
    return [f"{spk} {' '.join(utts)}\n" for spk, utts in sorted(utts_of.items())]


def write_data_dir(in_dir: Path, out_dir: Path, keep: Set[str], dropped_lines: List[str]) -> None:
    """The filtered copy of ``in_dir`` plus ``dropped_utts``, renamed into ``out_dir``."""
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for path in sorted(in_dir.iterdir()):
        if not path.is_file() or path.name in ("spk2utt", "dropped_utts"):
            continue
        if is_per_utterance(path.name):
            (partial / path.name).write_text("".join(filter_lines(path, keep)), encoding="utf-8")
        else:
            shutil.copyfile(path, partial / path.name)
    if (partial / "utt2spk").exists():
        lines = (partial / "utt2spk").read_text(encoding="utf-8").splitlines()
        (partial / "spk2utt").write_text("".join(spk2utt_lines(lines)), encoding="utf-8")
    (partial / "dropped_utts").write_text("".join(dropped_lines), encoding="utf-8")
    shutil.rmtree(out_dir, ignore_errors=True)
    partial.rename(out_dir)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("in_dir", type=Path, help="data directory with wav.scp and text")
    parser.add_argument("out_dir", type=Path, help="filtered copy (replaced if it exists)")
    parser.add_argument(
        "--fs", type=int, required=True, help="sample rate in Hz every clip must have"
    )
    parser.add_argument(
        "--min_seconds", type=float, required=True, help="drop clips shorter than this"
    )
    parser.add_argument(
        "--max_seconds",
        type=float,
        required=True,
        help="clips longer than this are kept and reported: training crops them to it",
    )
    parser.add_argument("--nj", type=int, default=len(os.sched_getaffinity(0)),
                        help="processes reading (and decoding) the audio [the usable cores]")
    parser.add_argument("--decode", choices=["true", "false"], default="true",
                        help="decode every file to find those a later stage could not load "
                        "(false: headers only)")
    args = parser.parse_args(argv)
    if args.min_seconds > args.max_seconds:
        parser.error(f"--min_seconds {args.min_seconds} > --max_seconds {args.max_seconds}")
    if args.nj < 1:
        parser.error(f"--nj must be >= 1, got {args.nj}")

    name = args.in_dir.name
    try:
        wav_scp = read_two_columns(args.in_dir / "wav.scp")
        text_path = args.in_dir / "text"
        captions = read_two_columns(text_path) if text_path.is_file() else {}
    except OSError as err:
        print(f"filter_by_duration.py: error: {err}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    dropped, cropped, unchecked = check_utterances(
        wav_scp, captions, args.fs, args.min_seconds, args.max_seconds, args.nj,
        decode=args.decode == "true",
    )
    seconds = time.perf_counter() - start
    keep = set(wav_scp) - set(dropped)
    if not keep:
        print(
            f"filter_by_duration.py: error: {args.in_dir}: no usable utterance (see the reasons "
            f"above); {len(dropped)} of {len(wav_scp)} dropped",
            file=sys.stderr,
        )
        for utt_id, (reason, detail) in sorted(dropped.items())[:10]:
            print(f"  {utt_id} {reason} {detail}", file=sys.stderr)
        return 1
    dropped_lines = [f"{u} {reason} {detail}\n" for u, (reason, detail) in sorted(dropped.items())]
    write_data_dir(args.in_dir, args.out_dir, keep, dropped_lines)

    by_reason = Counter(reason for reason, _ in dropped.values())
    reasons = ", ".join(f"{r}={by_reason[r]}" for r in REASONS if by_reason[r])
    print(
        f"filter_by_duration.py: {name}: kept {len(keep)} of {len(wav_scp)} utterances "
        f"({len(cropped)} longer than {args.max_seconds} s will be cropped to "
        f"{args.max_seconds:g} s in training); dropped {len(dropped)}"
        + (f" ({reasons}), listed in {args.out_dir / 'dropped_utts'}" if dropped else "")
        + (f"; {unchecked} command entries not checked" if unchecked else "")
    )
    what = "decoded" if args.decode == "true" else "read the headers of"
    print(f"filter_by_duration.py: {name}: {what} {len(wav_scp) - unchecked} files in "
          f"{seconds:.1f} s ({args.nj} processes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
