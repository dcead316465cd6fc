"""What every corpus preparation shares: clips, layout checks, utterance ids, data dirs.

A preparation module (``espnet2_slap.corpora.<corpus>``) reads an official release as it
unpacks, turns it into :class:`Clip` records and writes Kaldi-style data directories with
:func:`write_data_dir`:

    wav.scp     utt_id path               (paths may hold spaces and commas)
    text        utt_id first caption      (or the label's prompt text for class sets)
    utt2spk     utt_id speaker            (the clip itself unless the corpus names one)
    spk2utt     speaker utt_id ...
    utt2dur     utt_id seconds            (when known)
    text_refs   utt_id caption            (one line per caption; with ``refs=True``)
    utt2label   utt_id label              (class sets: the rest of the line is the label;
                                           several labels are space-separated ids, e.g. mids)
    labels      one class label per line  (class sets)
    <name>      utt_id value              (per-clip extras, e.g. ``utt2fold``)

Files are sorted by ``LC_ALL=C`` byte order and written to ``<dir>.partial`` first, which
replaces ``<dir>`` in one rename: a failed preparation never leaves a complete-looking dir.
"""

import hashlib
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import soundfile

from espnet2_slap.corpora.sources import note_file


class CorpusLayoutError(RuntimeError):
    """The corpus is missing or laid out differently; the message says what to set."""


@dataclass
class Clip:
    """One audio file of a corpus and what the corpus says about it."""

    utt_id: str
    path: Path
    captions: List[str] = field(default_factory=list)
    labels: List[str] = field(default_factory=list)
    speaker: Optional[str] = None
    duration: Optional[float] = None
    extra: Dict[str, str] = field(default_factory=dict)  # file name -> value, e.g. utt2fold


def check_layout(variable: str, root: Optional[str], required: Sequence[str], layout: str) -> Path:
    """``root`` as a Path when every ``required`` path (relative to it) exists.

    Raises:
        CorpusLayoutError: naming ``variable``, what is missing and the expected ``layout``.
    """
    if not root:
        raise CorpusLayoutError(
            f"{variable} is not set. Set {variable} in db.sh or the environment to the folder "
            f"of the official release, laid out as:\n{layout}"
        )
    root_path = Path(root)
    missing = [p for p in required if not (root_path / p).exists()]
    if not root_path.is_dir() or missing:
        what = "does not exist" if not root_path.is_dir() else f"has no {', '.join(missing)}"
        raise CorpusLayoutError(
            f"{variable}={root} {what}. Set {variable} in db.sh or the environment to the "
            f"folder of the official release, laid out as:\n{layout}"
        )
    return root_path


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def make_utt_id(prefix: str, name: str) -> str:
    """A Kaldi-safe utterance id for a file or record ``name``.

    Characters outside ``[A-Za-z0-9_.-]`` become ``_``; when that changed ``name`` (spaces,
    commas, non-ASCII), a short hash of the original keeps distinct names distinct.
    """
    stem = _UNSAFE.sub("_", name).strip("_") or "clip"
    if stem != name:
        stem = f"{stem}-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}"
    return f"{prefix}-{stem}" if prefix else stem


def clean_text(text: str) -> str:
    """One line of text: whitespace (newlines, tabs) collapsed to single spaces."""
    return " ".join(str(text).split())


def write_data_dir(data_dir: Path, clips: Iterable[Clip], labels: Optional[Sequence[str]] = None,
                   refs: bool = False) -> int:
    """Write ``data_dir`` for ``clips`` atomically; returns the number of clips.

    ``labels`` (the class list) makes a class set: ``utt2label`` and ``labels`` are written.
    ``refs`` writes ``text_refs`` with every caption of each clip (evaluation sets).

    Raises:
        ValueError: duplicated utterance ids, or a clip with neither caption nor label.
    """
    clips = sorted(clips, key=lambda c: c.utt_id.encode("utf-8"))
    seen = set()
    for clip in clips:
        if clip.utt_id in seen:
            raise ValueError(f"{data_dir}: duplicated utterance id {clip.utt_id!r}")
        seen.add(clip.utt_id)
        if not _UNSAFE.sub("", clip.utt_id) == clip.utt_id:
            raise ValueError(f"{data_dir}: utterance id {clip.utt_id!r} is not Kaldi-safe")
        if len(clip.labels) > 1 and any(len(label.split()) != 1 for label in clip.labels):
            raise ValueError(f"{data_dir}: {clip.utt_id}: several labels must be ids without spaces")
        if not clip.captions and not clip.labels:
            raise ValueError(f"{data_dir}: {clip.utt_id} ({clip.path}) has no caption and no label")
    data_dir = Path(data_dir)
    partial = data_dir.with_name(data_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    spk2utt: Dict[str, List[str]] = {}
    files: Dict[str, List[str]] = {"wav.scp": [], "text": [], "utt2spk": []}
    for clip in clips:
        speaker = clip.speaker or clip.utt_id
        spk2utt.setdefault(speaker, []).append(clip.utt_id)
        files["wav.scp"].append(f"{clip.utt_id} {Path(clip.path).absolute()}")
        first = clip.captions[0] if clip.captions else " ".join(clip.labels)
        files["text"].append(f"{clip.utt_id} {clean_text(first)}")
        files["utt2spk"].append(f"{clip.utt_id} {speaker}")
    files["spk2utt"] = [f"{s} {' '.join(u)}" for s, u in sorted(spk2utt.items(), key=lambda kv: kv[0].encode())]
    if clips and all(c.duration is not None for c in clips):
        files["utt2dur"] = [f"{c.utt_id} {c.duration:.4f}" for c in clips]
    if refs:
        files["text_refs"] = [f"{c.utt_id} {clean_text(t)}" for c in clips for t in c.captions]
    if labels is not None:
        files["utt2label"] = [f"{c.utt_id} {' '.join(c.labels)}" for c in clips]
        files["labels"] = list(labels)
    for name in sorted({name for c in clips for name in c.extra}):
        files[name] = [f"{c.utt_id} {c.extra[name]}" for c in clips if name in c.extra]
    for name, lines in files.items():
        with open(partial / name, "w", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)
    shutil.rmtree(data_dir, ignore_errors=True)
    os.replace(partial, data_dir)
    return len(clips)


LFS_POINTER_PREFIX = b"version https://git-lfs"


def audio_problem(path: Path) -> Tuple[Optional[str], Optional[float]]:
    """``(None, duration in s)`` for a readable file, else ``(reason, None)``.

    Reads the header only; a Git LFS pointer (a repository cloned without ``git lfs``), an
    empty file, an unknown format or a file without samples is a problem.
    """
    note_file(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(LFS_POINTER_PREFIX))
        if not head:
            return "an empty file (0 bytes)", None
        if head == LFS_POINTER_PREFIX:
            return "a Git LFS pointer, not audio (run 'git lfs pull' in the release)", None
        info = soundfile.info(str(path))
    except Exception as err:  # soundfile raises several types for bad files
        return f"cannot read audio ({' '.join(str(err).split())})", None
    if info.frames <= 0 or info.samplerate <= 0:
        return "no audio samples", None
    return None, info.frames / info.samplerate


def keep_readable(corpus: str, clips: Iterable[Clip], require_one: bool = True) -> List[Clip]:
    """``clips`` whose audio reads, with ``duration`` set from the header.

    Prints one stderr line per skipped file (its path and the reason) and, when any was
    skipped, one line counting them.

    Raises:
        CorpusLayoutError: when no clip is readable and ``require_one`` (the message gives
            the first reason).
    """
    kept, skipped = [], []
    for clip in clips:
        problem, duration = audio_problem(clip.path)
        if problem is None:
            clip.duration = duration
            kept.append(clip)
        else:
            skipped.append((clip.path, problem))
            print(f"{corpus}: skipping {clip.path}: {problem}", file=sys.stderr)
    if skipped and not kept and require_one:
        raise CorpusLayoutError(
            f"{corpus}: none of the {len(skipped)} audio files is readable, e.g. {skipped[0][0]}: "
            f"{skipped[0][1]}"
        )
    if skipped:
        print(f"{corpus}: {len(skipped)} of {len(kept) + len(skipped)} audio files cannot be "
              f"read and are skipped", file=sys.stderr)
    return kept


def fail(error: Exception) -> None:
    """Print ``error`` as ``error: ...`` on stderr and exit 1 (the CLIs' one error path)."""
    print(f"error: {error}", file=sys.stderr)
    sys.exit(1)
