"""What the zero-shot class-set preparations share: label words, audio checks, CLI options.

A class set (ESC-50, UrbanSound8K, GTZAN, CREMA-D, RAVDESS) is written by
:func:`espnet2_slap.corpora.kaldi_dir.write_data_dir` with ``labels``: ``utt2label`` and
``labels`` hold each class as words ("dog_bark" -> "dog bark"), which is what a prompt
template receives (``"the sound of {label}"``). ``labels_as="names"`` keeps the corpus's own
class names instead (one token each, e.g. for a classifier's token list). CSV reading, layout
errors, missing-file reports and the CLI runner are shared with the caption corpora
(:mod:`espnet2_slap.corpora.caption_sets`).
"""

import argparse
import sys
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

import soundfile

from espnet2_slap.corpora.kaldi_dir import Clip, CorpusLayoutError

LFS_POINTER_PREFIX = b"version https://git-lfs"


def label_words(name: str) -> str:
    """A class name as lower-case words: ``"dog_bark"`` -> ``"dog bark"``."""
    return " ".join(name.replace("_", " ").replace("-", " ").split()).lower()


def audio_problem(path: Path) -> Tuple[Optional[str], Optional[float]]:
    """``(None, duration in s)`` for a readable file, else ``(reason, None)``.

    Reads the header only; a Git LFS pointer (a repository cloned without ``git lfs``), an
    unknown format or a file without samples is a problem.
    """
    try:
        with open(path, "rb") as handle:
            if handle.read(len(LFS_POINTER_PREFIX)) == LFS_POINTER_PREFIX:
                return "a Git LFS pointer, not audio (run 'git lfs pull' in the release)", None
        info = soundfile.info(str(path))
    except Exception as err:  # soundfile raises several types for bad files
        return f"cannot read audio ({' '.join(str(err).split())})", None
    if info.frames <= 0 or info.samplerate <= 0:
        return "no audio samples", None
    return None, info.frames / info.samplerate


def keep_readable(corpus: str, clips: Iterable[Clip]) -> List[Clip]:
    """``clips`` whose audio reads, with ``duration`` set; one stderr line per skipped file.

    Raises:
        CorpusLayoutError: when no clip is readable (the message gives the first reason).
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
    if skipped and not kept:
        raise CorpusLayoutError(
            f"{corpus}: none of the {len(skipped)} audio files is readable, e.g. {skipped[0][0]}: "
            f"{skipped[0][1]}"
        )
    return kept


def class_list(clips: Iterable[Clip]) -> List[str]:
    """The sorted labels that occur among ``clips``."""
    return sorted({label for clip in clips for label in clip.labels})


def base_parser(description: str) -> argparse.ArgumentParser:
    """``--root`` and ``--out_dir`` (and ``--labels_as``) of every class-set CLI."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--root", required=True, help="folder of the official release")
    parser.add_argument("--out_dir", required=True, help="data dirs are written under it")
    parser.add_argument(
        "--labels_as",
        choices=["words", "names"],
        default="words",
        help="write classes as words ('dog bark', for prompts) or as the corpus's names ('dog_bark')",
    )
    return parser
