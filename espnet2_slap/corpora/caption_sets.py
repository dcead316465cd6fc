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

Every audio header is read at preparation: a clip whose file is absent or unreadable is
skipped and counted (:func:`report_missing`, :func:`report_unreadable`); the CLIs of every
corpus run through :func:`run_cli`, which also records what each set was made from
(``prepared_from.json``, :mod:`espnet2_slap.corpora.sources`).

``python -m espnet2_slap.corpora.caption_sets combine --out_dir data/x data/a data/b`` joins
caption sets (e.g. WavCaps + AudioCaps train + Clotho development for pretraining).
"""

import argparse
import csv
import json
import os
import shutil
import sys
import unicodedata
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from espnet2_slap.corpora.kaldi_dir import (
    Clip,
    CorpusLayoutError,
    audio_problem,
    clean_text,
    fail,
)
from espnet2_slap.corpora.sources import note_file, note_folder, recording, write_manifests
from espnet2_slap.utils.atomic_files import atomic_write_text

CAPTIONS_FILE = "utt2captions"
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")


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


def read_csv_rows(path: Path, columns: Sequence[str], variable: str, root, layout: str,
                  verbatim: Sequence[str] = ()) -> List[Dict[str, str]]:
    """The rows of a CSV file as dicts (UTF-8, with a Latin-1 fallback); checks ``columns``.

    Column names and values are stripped of surrounding white space, except the values of the
    ``verbatim`` columns (file names: Clotho has names that begin with a space).

    Raises:
        CorpusLayoutError: a column of ``columns`` is absent.
    """
    note_file(path)
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
    keep = set(verbatim)
    rows = []
    for row in reader:
        cells = {(k or "").strip(): v or "" for k, v in row.items()}
        rows.append({k: v if k in keep else v.strip() for k, v in cells.items()})
    return rows


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


def _write_listing(out_dir: Path, name: str, lines: Sequence[str]) -> Path:
    """``out_dir/local/name`` with ``lines``; an empty list removes an earlier listing."""
    listing = Path(out_dir) / "local" / name
    if not lines:
        if listing.is_file():
            listing.unlink()
        return listing
    listing.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(listing, "".join(f"{line}\n" for line in lines))
    return listing


def report_missing(set_name: str, missing: List[str], total: int, out_dir: Path) -> None:
    """One stderr line counting clips without audio; their names go to ``out_dir/local``."""
    listing = _write_listing(out_dir, f"{set_name}_missing_audio.txt", missing)
    if not missing:
        return
    print(f"{set_name}: {len(missing)} of {total} clips have no audio file and are skipped "
          f"(listed in {listing})", file=sys.stderr)


def report_unreadable(set_name: str, unreadable: List[Tuple[Path, str]], total: int,
                      out_dir: Path) -> None:
    """One stderr line counting clips whose audio cannot be read (``(path, reason)`` each,
    listed in ``out_dir/local``); each was named with its reason when it was skipped."""
    listing = _write_listing(out_dir, f"{set_name}_unreadable_audio.txt",
                             [f"{path}\t{reason}" for path, reason in unreadable])
    if not unreadable:
        return
    print(f"{set_name}: {len(unreadable)} of {total} clips have unreadable audio and are "
          f"skipped (listed in {listing})", file=sys.stderr)


def first_readable(corpus: str, candidates: Sequence[Path], unreadable: List[Tuple[Path, str]]
                   ) -> Tuple[Optional[Path], Optional[float]]:
    """``(path, duration)`` of the first of ``candidates`` whose audio header reads.

    Each unreadable candidate gets one stderr line (path and reason); when none reads, the
    first one and its reason are appended to ``unreadable`` and ``(None, None)`` returned.
    """
    problems = []
    for path in candidates:
        problem, duration = audio_problem(path)
        if problem is None:
            return path, duration
        print(f"{corpus}: skipping {path}: {problem}", file=sys.stderr)
        problems.append((path, problem))
    if problems:
        unreadable.append(problems[0])
    return None, None


def lenient_name(name: str) -> str:
    """A file name as the "missing" check compares it: NFC, surrounding white space dropped."""
    return unicodedata.normalize("NFC", name).strip()


class AudioIndex:
    """File names of the audio files in a few folders, listed once each (not recursive)."""

    def __init__(self, folders: Iterable[Path]):
        searched = [Path(f) for f in folders]
        for folder in searched:
            note_folder(folder)
        self.folders = [f for f in searched if f.is_dir()]
        self._names: Dict[Path, set] = {}
        self._lenient: Optional[Dict[str, List[Path]]] = None

    def names_in(self, folder: Path) -> set:
        if folder not in self._names:
            self._names[folder] = {
                n for n in os.listdir(folder) if n.lower().endswith(AUDIO_EXTENSIONS)
            }
        return self._names[folder]

    def find_all(self, names: Sequence[str]) -> List[Path]:
        """Every ``folder/name`` that exists, folders first, then names, in order."""
        return [folder / name for folder in self.folders for name in names
                if name in self.names_in(folder)]

    def find(self, names: Sequence[str]) -> Optional[Path]:
        """The first ``folder/name`` that exists, folders first, then names, in order."""
        found = self.find_all(names)
        return found[0] if found else None

    def find_near(self, name: str) -> List[Path]:
        """Files whose name equals ``name`` once both are compared by :func:`lenient_name`."""
        if self._lenient is None:
            self._lenient = {}
            for folder in self.folders:
                for found in sorted(self.names_in(folder)):
                    self._lenient.setdefault(lenient_name(found), []).append(folder / found)
        return list(self._lenient.get(lenient_name(name), []))


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
    Each set written gets ``prepared_from.json``: the command and a signature of the folders
    it was made from (:mod:`espnet2_slap.corpora.sources`).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    options = vars(parser.parse_args(argv))
    with recording() as recorder:
        try:
            counts = prepare(**options)
        except (CorpusLayoutError, ValueError) as err:
            fail(err)
    module = sys.modules.get(prepare.__module__)
    spec = getattr(module, "__spec__", None)
    write_manifests(options["out_dir"], counts, recorder,
                    spec.name if spec else prepare.__module__, argv)
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
