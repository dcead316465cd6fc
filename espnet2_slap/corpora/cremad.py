"""CREMA-D (Cao et al. 2014) speech emotion as one zero-shot class set.

    python -m espnet2_slap.corpora.cremad --root /data/CREMA-D --out_dir data

The release (``github.com/CheyneyComputerScience/CREMA-D``, media in Git LFS) holds
``AudioWAV/{actor}_{sentence}_{emotion}_{level}.wav``, e.g. ``1001_DFA_ANG_XX.wav``: 7442
clips of 91 actors, 6 emotions (ANG, DIS, FEA, HAP, NEU, SAD), levels LO/MD/HI/XX (one file
is named ``..._X.wav``; any level is accepted). The emotion becomes a word ("ANG" ->
"angry"), the actor is the speaker. Files with another name pattern, and files that cannot
be read (Git LFS pointers, empty files), are skipped with a message. Writes
``<out_dir>/cremad/``.
"""

import re
import sys
from pathlib import Path
from typing import Dict, List, Optional

from espnet2_slap.corpora.caption_sets import run_cli
from espnet2_slap.corpora.class_sets import base_parser, class_list, keep_readable
from espnet2_slap.corpora.kaldi_dir import Clip, check_layout, make_utt_id, write_data_dir

VARIABLE = "CREMAD"
EMOTION_WORDS = {
    "ANG": "angry",
    "DIS": "disgusted",
    "FEA": "fearful",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}
FILE_NAME = re.compile(
    r"^(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emotion>[A-Z]{3})_(?P<level>[A-Z]{1,2})$"
)
LAYOUT = """  CREMA-D/                        <- CREMAD points here (a git clone with 'git lfs pull')
    AudioWAV/1001_DFA_ANG_XX.wav ...   ({actor}_{sentence}_{ANG|DIS|FEA|HAP|NEU|SAD}_{level}.wav)"""


def read_clips(audio_dir: Path, labels_as: str = "words") -> List[Clip]:
    """One :class:`Clip` per ``AudioWAV`` file whose name follows the release's pattern."""
    clips = []
    for path in sorted(audio_dir.glob("*.wav")):
        match = FILE_NAME.match(path.stem)
        if match is None or match["emotion"] not in EMOTION_WORDS:
            print(f"cremad: skipping {path}: name is not "
                  "{actor}_{sentence}_{emotion}_{level}.wav", file=sys.stderr)
            continue
        emotion = match["emotion"]
        label = EMOTION_WORDS[emotion] if labels_as == "words" else emotion
        clips.append(
            Clip(utt_id=make_utt_id("cremad", path.stem), path=path, labels=[label],
                 speaker=f"cremad-{match['actor']}")
        )
    return clips


def prepare(
    root: Optional[str], out_dir: str, labels_as: str = "words", set_name: str = "cremad"
) -> Dict[str, int]:
    """Write ``<out_dir>/<set_name>``; returns ``{set_name: number of clips}``."""
    release = check_layout(VARIABLE, root, ["AudioWAV"], LAYOUT)
    clips = keep_readable("cremad", read_clips(release / "AudioWAV", labels_as))
    return {set_name: write_data_dir(Path(out_dir) / set_name, clips, labels=class_list(clips))}


def get_parser():
    parser = base_parser("Prepare CREMA-D (AudioWAV, 6 emotions) as a zero-shot class set")
    parser.add_argument("--set_name", default="cremad", help="name of the data dir written")
    return parser


def main(argv=None) -> Dict[str, int]:
    return run_cli(get_parser(), prepare, argv)


if __name__ == "__main__":
    main()
