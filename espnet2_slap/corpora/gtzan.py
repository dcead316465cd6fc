"""GTZAN genre collection (Tzanetakis & Cook 2002) as one zero-shot class set.

    python -m espnet2_slap.corpora.gtzan --root /data/gtzan --out_dir data

Two releases are read: the original ``genres/<genre>/<genre>.000NN.au`` (torchaudio's copy
has ``.wav`` files there) and the common WAV copy ``genres_original/<genre>/<genre>.000NN.wav``
(also as ``Data/genres_original``).
10 genres x 100 clips of 30 s at 22.05 kHz. The genre is the folder name; "hiphop" becomes
"hip hop". A file that cannot be read (``jazz.00054.wav`` of the WAV copy is broken) is
skipped with a message. Writes ``<out_dir>/gtzan/``.
"""

from pathlib import Path
from typing import Dict, List, Optional, Tuple

from espnet2_slap.corpora.caption_sets import layout_error, run_cli
from espnet2_slap.corpora.class_sets import base_parser, class_list, keep_readable, label_words
from espnet2_slap.corpora.kaldi_dir import Clip, check_layout, make_utt_id, write_data_dir

VARIABLE = "GTZAN"
GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
GENRE_WORDS = {"hiphop": "hip hop"}
FOLDERS = ("genres", "genres_original", "Data/genres_original", ".")  # searched in this order
SUFFIXES = {"auto": (".au", ".wav"), "au": (".au",), "wav": (".wav",)}
LAYOUT = """  <GTZAN>/                        <- GTZAN points here
    genres/blues/blues.00000.au ...             (original release; torchaudio's copy has .wav), or
    genres_original/blues/blues.00000.wav ...   (WAV copy; also Data/genres_original/)
  with one folder per genre (GTZAN may also point at the folder holding them): """ + ", ".join(GENRES)


def find_release(root: Optional[str], audio_format: str = "auto") -> Tuple[Path, str]:
    """``(folder holding the genre folders, audio suffix)``: the first folder of
    :data:`FOLDERS` with ``<genre>/*<suffix>`` files, ``.au`` before ``.wav`` for "auto"."""
    release = check_layout(VARIABLE, root, [], LAYOUT)
    for folder in FOLDERS:
        for suffix in SUFFIXES[audio_format]:
            if any((release / folder).glob(f"*/*{suffix}")):
                return release / folder, suffix
    wanted = " or ".join(f"*{x}" for x in SUFFIXES[audio_format])
    raise layout_error(VARIABLE, root, f"no <genre>/{wanted} files in {' or '.join(FOLDERS)}", LAYOUT)


def read_clips(genres_dir: Path, suffix: str, labels_as: str = "words") -> List[Clip]:
    """One :class:`Clip` per ``<genre>/<name><suffix>`` file, the genre from the folder."""
    clips = []
    for genre_dir in sorted(p for p in genres_dir.iterdir() if p.is_dir()):
        genre = genre_dir.name
        label = GENRE_WORDS.get(genre, label_words(genre)) if labels_as == "words" else genre
        for path in sorted(genre_dir.glob(f"*{suffix}")):
            clips.append(Clip(utt_id=make_utt_id("gtzan", path.stem), path=path, labels=[label]))
    return clips


def prepare(
    root: Optional[str],
    out_dir: str,
    labels_as: str = "words",
    audio_format: str = "auto",
    set_name: str = "gtzan",
) -> Dict[str, int]:
    """Write ``<out_dir>/<set_name>``; returns ``{set_name: number of clips}``."""
    genres_dir, suffix = find_release(root, audio_format)
    clips = keep_readable("gtzan", read_clips(genres_dir, suffix, labels_as))
    return {set_name: write_data_dir(Path(out_dir) / set_name, clips, labels=class_list(clips))}


def get_parser():
    parser = base_parser("Prepare GTZAN (10 genres; .au original or WAV copy) as a zero-shot class set")
    parser.add_argument(
        "--audio_format",
        choices=["auto", "au", "wav"],
        default="auto",
        help="audio files to read: auto takes .au files (the original release) when present, else .wav",
    )
    parser.add_argument("--set_name", default="gtzan", help="name of the data dir written")
    return parser


def main(argv=None) -> Dict[str, int]:
    return run_cli(get_parser(), prepare, argv)


if __name__ == "__main__":
    main()
