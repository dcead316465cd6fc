"""RAVDESS speech (Livingstone & Russo 2018) as one zero-shot emotion class set.

    python -m espnet2_slap.corpora.ravdess --root /data/RAVDESS --out_dir data

``Audio_Speech_Actors_01-24.zip`` (Zenodo 1188976) unpacks as ``Actor_01/`` ... ``Actor_24/``
holding ``MM-VV-EE-II-SS-RR-AA.wav``: modality (03 audio-only), vocal channel (01 speech,
02 song), emotion 01-08 (neutral, calm, happy, sad, angry, fearful, disgust, surprised),
intensity, statement, repetition, actor. Only audio-only speech files are used (1440: 60 per
actor); song files (``03-02-...``, from the song archive unpacked alongside) and other
modalities are ignored. The root may also be the folder holding
``Audio_Speech_Actors_01-24/``. Writes ``<out_dir>/ravdess/``.
"""

import re
from pathlib import Path
from typing import Dict, List, Optional

from espnet2_slap.corpora.caption_sets import layout_error, run_cli
from espnet2_slap.corpora.class_sets import base_parser, class_list, keep_readable
from espnet2_slap.corpora.kaldi_dir import Clip, check_layout, make_utt_id, write_data_dir

VARIABLE = "RAVDESS"
EMOTION_WORDS = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgusted",
    "08": "surprised",
}
AUDIO_ONLY, SPEECH = "03", "01"
FILE_NAME = re.compile(
    r"^(?P<modality>\d\d)-(?P<channel>\d\d)-(?P<emotion>\d\d)-\d\d-\d\d-\d\d-(?P<actor>\d\d)$"
)
LAYOUT = """  <RAVDESS>/                      <- RAVDESS points here
    Actor_01/03-01-01-01-01-01-01.wav ... Actor_24/...   (Audio_Speech_Actors_01-24.zip unpacked;
                                                          also under Audio_Speech_Actors_01-24/)"""


def find_actor_dirs(root: Optional[str]) -> List[Path]:
    """The ``Actor_XX`` folders under ``root`` or ``root/Audio_Speech_Actors_01-24``."""
    release = check_layout(VARIABLE, root, [], LAYOUT)
    for base in (release, release / "Audio_Speech_Actors_01-24"):
        actors = sorted(p for p in base.glob("Actor_*") if p.is_dir())
        if actors:
            return actors
    raise layout_error(VARIABLE, root, "no Actor_XX folders", LAYOUT)


def read_clips(actor_dirs: List[Path], labels_as: str = "words") -> List[Clip]:
    """One :class:`Clip` per audio-only speech file; song and video files are left out."""
    clips = []
    for actor_dir in actor_dirs:
        for path in sorted(actor_dir.glob("*.wav")):
            match = FILE_NAME.match(path.stem)
            if match is None or match["modality"] != AUDIO_ONLY or match["channel"] != SPEECH:
                continue
            if match["emotion"] not in EMOTION_WORDS:
                continue
            emotion = match["emotion"]
            label = EMOTION_WORDS[emotion] if labels_as == "words" else emotion
            clips.append(
                Clip(
                    utt_id=make_utt_id("ravdess", path.stem),
                    path=path,
                    labels=[label],
                    speaker=f"ravdess-{match['actor']}",
                )
            )
    return clips


def prepare(
    root: Optional[str], out_dir: str, labels_as: str = "words", set_name: str = "ravdess"
) -> Dict[str, int]:
    """Write ``<out_dir>/<set_name>``; returns ``{set_name: number of clips}``."""
    clips = read_clips(find_actor_dirs(root), labels_as)
    if not clips:
        raise layout_error(
            VARIABLE, root, "the Actor_XX folders hold no audio-only speech file (03-01-*.wav)", LAYOUT
        )
    clips = keep_readable("ravdess", clips)
    return {set_name: write_data_dir(Path(out_dir) / set_name, clips, labels=class_list(clips))}


def get_parser():
    parser = base_parser("Prepare RAVDESS speech (audio-only, 8 emotions) as a zero-shot class set")
    parser.add_argument("--set_name", default="ravdess", help="name of the data dir written")
    return parser


def main(argv=None) -> Dict[str, int]:
    return run_cli(get_parser(), prepare, argv)


if __name__ == "__main__":
    main()
