"""What the caption-corpus preparations share (Clotho, AudioCaps, WavCaps).

A caption set is a data directory written by
:func:`espnet2_slap.corpora.kaldi_dir.write_data_dir` with ``refs=True`` plus one more file:

    text          utt_id first caption        (what one-caption tools read)
    text_refs     utt_id caption              (one line per caption: several-caption retrieval)
    utt2captions  utt_id ["caption", ...]     (every caption of the clip as one JSON list)

``utt2captions`` is the training input for several captions per clip: the recipe template
passes it to training as the data name ``captions`` (type ``text``), and the data loader draws
one caption per clip each time the clip is loaded (``SLAPPreprocessor``), so a clip stays one
example and two of its captions are never in one batch. Its name starts with ``utt2`` so the
recipe's filters treat it as a per-utterance file.

``python -m espnet2_slap.corpora.caption_sets combine --out_dir data/x data/a data/b`` joins
caption sets (e.g. WavCaps + AudioCaps train + Clotho development for pretraining).
"""

import argparse
import csv
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from espnet2_slap.corpora.kaldi_dir import Clip, CorpusLayoutError, clean_text, fail

CAPTIONS_FILE = "utt2captions"
AUDIO_EXTENSIONS = (".wav", ".flac")


def caption_clip(utt_id: str, path: Path, captions: Iterable[str],
                 duration: Optional[float] = None) -> Optional[Clip]:
    """A :class:`Clip` with its non-empty captions (cleaned) also as ``utt2captions``.

    Returns None when no caption is left.
    """
    kept = [clean_text(c) for c in captions if clean_text(c)]
    if not kept:
        return None
    return Clip(utt_id=utt_id, path=path, captions=kept, duration=duration,
                extra={CAPTIONS_FILE: json.dumps(kept, ensure_ascii=False)})


def layout_error(variable: str, root, problem: str, layout: str) -> CorpusLayoutError:
    """A :class:`CorpusLayoutError` worded like ``check_layout``'s."""
    return CorpusLayoutError(
        f"{variable}={root}: {problem}. Set {variable} in db.sh or the environment to the "
        f"folder of the official release, laid out as:\n{layout}"
    )


def read_csv_rows(path: Path, columns: Sequence[str], variable: str, root, layout: str
                  ) -> List[Dict[str, str]]:
    """The rows of a CSV file as dicts (UTF-8, with a Latin-1 fallback); checks ``columns``.

    Raises:
        CorpusLayoutError: a column of ``columns`` is absent.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    reader = csv.DictReader(text.splitlines())
    found = [name.strip() for name in reader.fieldnames or []]
    absent = [name for name in columns if name not in found]
    if absent:
        raise layout_error(variable, root, f"{path} has no column {', '.join(absent)} "
                           f"(found {found})", layout)
    return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]


def select_splits(requested: Optional[str], known: Sequence[str]) -> List[str]:
    """``--splits a,b`` as a list (all of ``known`` when empty); rejects unknown names."""
    if not requested:
        return list(known)
    splits = [s.strip() for s in requested.split(",") if s.strip()]
    unknown = [s for s in splits if s not in known]
    if unknown:
        raise ValueError(f"--splits: unknown split(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(known)}")
    return splits


def report_missing(set_name: str, missing: List[str], total: int, out_dir: Path) -> None:
    """One stderr line counting clips without audio; their names go to ``out_dir/local``."""
    if not missing:
        return
    listing = Path(out_dir) / "local" / f"{set_name}_missing_audio.txt"
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("".join(f"{name}\n" for name in missing), encoding="utf-8")
    print(f"{set_name}: {len(missing)} of {total} clips have no audio file and are skipped "
          f"(listed in {listing})", file=sys.stderr)


class AudioIndex:
    """File names of the audio files in a few folders, listed once each (not recursive)."""

    def __init__(self, folders: Iterable[Path]):
        self.folders = [Path(f) for f in folders if Path(f).is_dir()]
        self._names: Dict[Path, set] = {}

    def find(self, names: Sequence[str]) -> Optional[Path]:
        """The first ``folder/name`` that exists, folders first, then names, in order."""
        for folder in self.folders:
            if folder not in self._names:
                self._names[folder] = {
                    n for n in os.listdir(folder) if n.lower().endswith(AUDIO_EXTENSIONS)
                }
            for name in names:
                if name in self._names[folder]:
                    return folder / name
        return None


def base_parser(description: str, splits: Sequence[str]) -> argparse.ArgumentParser:
    """``--root``, ``--out_dir`` and ``--splits`` of every caption-corpus CLI."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--root", required=True, help="folder of the official release")
    parser.add_argument("--out_dir", required=True, help="data dirs are written under it")
    parser.add_argument("--splits", default="",
                        help=f"comma-separated splits to prepare (default: all of "
                        f"{','.join(splits)})")
    return parser


def run_cli(parser: argparse.ArgumentParser, prepare: Callable[..., Dict[str, int]],
            argv: Optional[List[str]] = None) -> Dict[str, int]:
    """Parse ``argv``, call ``prepare(**options)``, print one line per set written.

    A layout error or a bad option ends the process with ``error: ...`` and exit status 1.
    """
    options = vars(parser.parse_args(argv))
    try:
        counts = prepare(**options)
    except (CorpusLayoutError, ValueError) as err:
        fail(err)
    for name, count in counts.items():
        print(f"wrote {Path(options['out_dir']) / name}: {count} clips")
    return counts


# ---------------------------------------------------------------------------- combining sets
def _key(line: str) -> bytes:
    return line.split(maxsplit=1)[0].encode("utf-8") if line.strip() else b""


def combine_data_dirs(out_dir: Path, sources: Sequence[Path]) -> int:
    """Join the data dirs ``sources`` into ``out_dir`` (atomically); returns its clip count.

    Per-utterance files present in every source (``wav.scp``, ``text``, ``text_refs``,
    ``utt2*``) are concatenated and sorted by utterance id (lines of one id keep their
    order); ``spk2utt`` is rebuilt; files missing from some source are left out (named on
    stderr).

    Raises:
        ValueError: a source without ``wav.scp``, or an utterance id in two sources.
    """
    sources = [Path(s) for s in sources]
    for source in sources:
        if not (source / "wav.scp").is_file():
            raise ValueError(f"{source}: no wav.scp (not a data directory)")
    names = [{p.name for p in s.iterdir() if p.is_file()} for s in sources]
    per_utt = {n for n in set.union(*names)
               if n in ("wav.scp", "text", "text_refs") or n.startswith("utt2")}
    common = sorted(n for n in per_utt if all(n in found for found in names))
    left_out = sorted(per_utt - set(common))
    if left_out:
        print(f"combine: {', '.join(left_out)} not in every source; left out of {out_dir}",
              file=sys.stderr)
    owner: Dict[str, Path] = {}
    for source in sources:
        for line in (source / "wav.scp").read_text(encoding="utf-8").splitlines():
            utt = line.split(maxsplit=1)[0]
            if utt in owner:
                raise ValueError(f"utterance id {utt!r} is in both {owner[utt]} and {source}")
            owner[utt] = source
    out_dir = Path(out_dir)
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name in common:
        lines = [line for s in sources
                 for line in (s / name).read_text(encoding="utf-8").splitlines() if line.strip()]
        lines.sort(key=_key)
        (partial / name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    if (partial / "utt2spk").is_file():
        spk2utt: Dict[str, List[str]] = {}
        for line in (partial / "utt2spk").read_text(encoding="utf-8").splitlines():
            utt, speaker = line.split()[:2]
            spk2utt.setdefault(speaker, []).append(utt)
        (partial / "spk2utt").write_text(
            "".join(f"{s} {' '.join(u)}\n" for s, u in sorted(spk2utt.items(),
                                                               key=lambda kv: kv[0].encode())),
            encoding="utf-8")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(partial, out_dir)
    return len(owner)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Tools for caption data directories")
    commands = parser.add_subparsers(dest="command", required=True)
    combine = commands.add_parser("combine", help="join caption data dirs into one")
    combine.add_argument("--out_dir", required=True, help="the combined data dir")
    combine.add_argument("sources", nargs="+", help="data dirs to join")
    args = parser.parse_args(argv)
    try:
        count = combine_data_dirs(Path(args.out_dir), [Path(s) for s in args.sources])
    except ValueError as err:
        fail(err)
    print(f"wrote {args.out_dir}: {count} clips from {len(args.sources)} data dirs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
