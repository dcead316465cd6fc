"""Kaldi-style data directories, written so that a half-finished one never looks complete.

Files (all sorted by utt_id):
    wav.scp       utt_id /abs/path.wav
    text          utt_id primary caption
    utt2spk       utt_id utt_id        (every clip is its own "speaker")
    spk2utt       utt_id utt_id
    utt2dur       utt_id seconds
    utt2sources   utt_id src1 src2 ... (source recordings, for split audits)
    text_refs     utt_id caption       (one line per reference caption; composed splits)
    utt2label     utt_id label         (zero-shot split)
    labels        one class label per line (zero-shot split)
"""

import os
import shutil
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from mini_sounds.compose import ClipPlan


def _write_lines(path: Path, lines: List[str]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(line + "\n" for line in lines)


def write_data_dir(data_dir: Path, plans: Sequence[ClipPlan], clip_dir: Path,
                   labels: Optional[Sequence[str]] = None) -> None:
    """Write ``data_dir`` for ``plans`` whose wavs live (or will live) in ``clip_dir``.

    Composed splits get ``text_refs``; passing ``labels`` makes a zero-shot dir instead
    (``utt2label`` + ``labels``). Files go to ``<data_dir>.partial`` first, which then
    replaces ``data_dir`` in one rename.
    """
    plans = sorted(plans, key=lambda p: p.utt_id)
    partial = data_dir.with_name(data_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    clip_dir = clip_dir.resolve()
    files: Dict[str, List[str]] = {
        "wav.scp": [f"{p.utt_id} {clip_dir / (p.utt_id + '.wav')}" for p in plans],
        "text": [f"{p.utt_id} {p.captions[0]}" for p in plans],
        "utt2spk": [f"{p.utt_id} {p.utt_id}" for p in plans],
        "spk2utt": [f"{p.utt_id} {p.utt_id}" for p in plans],
        "utt2dur": [f"{p.utt_id} {p.duration:.4f}" for p in plans],
        "utt2sources": [f"{p.utt_id} " + " ".join(s for s, _, _ in p.events) for p in plans],
    }
    if labels is None:
        files["text_refs"] = [f"{p.utt_id} {c}" for p in plans for c in p.captions]
    else:
        files["utt2label"] = [f"{p.utt_id} {p.label}" for p in plans]
        files["labels"] = list(labels)
    for name, lines in files.items():
        _write_lines(partial / name, lines)
    shutil.rmtree(data_dir, ignore_errors=True)
    os.replace(partial, data_dir)


def read_table(path: Path) -> Dict[str, str]:
    """``key rest-of-line`` file -> {key: rest}; raises on a duplicated key."""
    table: Dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            key, _, value = line.rstrip("\n").partition(" ")
            if key in table:
                raise ValueError(f"{path}:{number}: duplicated key {key!r}")
            table[key] = value
    return table
