"""What the zero-shot class-set preparations share: label words, audio checks, CLI options.

Audio checks (:func:`audio_problem`, :func:`keep_readable`) live in
:mod:`espnet2_slap.corpora.kaldi_dir`, shared with the caption corpora.

A class set (ESC-50, UrbanSound8K, GTZAN, CREMA-D, RAVDESS) is written by
:func:`espnet2_slap.corpora.kaldi_dir.write_data_dir` with ``labels``: ``utt2label`` and
``labels`` hold each class as words ("dog_bark" -> "dog bark"), which is what a prompt
template receives (``"the sound of {label}"``). ``labels_as="names"`` keeps the corpus's own
class names instead (one token each, e.g. for a classifier's token list). CSV reading, layout
errors, missing-file reports and the CLI runner are shared with the caption corpora
(:mod:`espnet2_slap.corpora.caption_sets`).
"""

import argparse
from typing import Iterable, List

from espnet2_slap.corpora.kaldi_dir import (  # noqa: F401  (audio checks live in kaldi_dir)
    LFS_POINTER_PREFIX,
    Clip,
    audio_problem,
    keep_readable,
)


def label_words(name: str) -> str:
    """A class name as lower-case words: ``"dog_bark"`` -> ``"dog bark"``."""
    return " ".join(name.replace("_", " ").replace("-", " ").split()).lower()


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
