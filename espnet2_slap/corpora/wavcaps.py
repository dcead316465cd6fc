"""WavCaps (Mei et al. 2023): its four sources as one caption set for pretraining.

    python -m espnet2_slap.corpora.wavcaps --root /data/WavCaps --out_dir data

The release (``huggingface.co/datasets/cvssp/WavCaps``, metadata also in
``github.com/XinhaoMei/WavCaps/data/json_files``) has one JSON file per source,

    json_files/AudioSet_SL/as_final.json         ids "Y<youtube id>.wav"   ~108k clips
    json_files/BBC_Sound_Effects/bbc_final.json  ids "<number>"            ~31k
    json_files/FreeSound/fsd_final.json          ids "<freesound id>"      ~262k
    json_files/SoundBible/sb_final.json          ids "<number>"            ~1.2k

each ``{"num_captions_per_audio": 1, "data": [{"id", "caption", "duration", ...}]}`` (a bare
list of items is accepted too), and per-source FLAC folders unpacked from ``Zip_files/``,
named ``<id>.flac`` (AudioSet_SL: the id with ``.wav`` replaced by ``.flac``). The audio
folder of a source is the first of ``<A>/<Source>``, ``<A>/<Source>_flac``,
``<A>/audio/<Source>``, ``<A>/Audio/<Source>``, ``<A>/waveforms/<Source>_flac`` that exists,
with ``A`` = ``--audio_dir`` or the root.

Blacklists: ``json_files/blacklist/*.json`` (``{"AudioSet": ["Y....wav", ...], "FreeSound":
["<id>", ...]}``) list clips that overlap AudioCaps, Clotho and the zero-shot test sets; every
file there is applied by default (``--blacklists`` picks some), so those clips are never
trained on. Clips over 30 s are kept (training crops them). Clips whose FLAC is absent are
counted and listed in ``<out_dir>/local/`` (partial downloads are common). Writes
``<out_dir>/wavcaps/``.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Set

from espnet2_slap.corpora.caption_sets import (
    AudioIndex,
    caption_clip,
    layout_error,
    report_missing,
    run_cli,
)
from espnet2_slap.corpora.kaldi_dir import Clip, check_layout, make_utt_id, write_data_dir

VARIABLE = "WAVCAPS"
SET_NAME = "wavcaps"
# source folder -> (metadata file, short name in utterance ids)
SOURCES = {
    "AudioSet_SL": ("as_final.json", "as"),
    "BBC_Sound_Effects": ("bbc_final.json", "bbc"),
    "FreeSound": ("fsd_final.json", "fsd"),
    "SoundBible": ("sb_final.json", "sb"),
}
# key of a blacklist file -> the source whose ids it lists
BLACKLIST_KEYS = {"AudioSet": "AudioSet_SL", "AudioSet_SL": "AudioSet_SL",
                  "FreeSound": "FreeSound", "BBC_Sound_Effects": "BBC_Sound_Effects",
                  "SoundBible": "SoundBible"}
LAYOUT = """  <WAVCAPS>/
    json_files/AudioSet_SL/as_final.json
    json_files/BBC_Sound_Effects/bbc_final.json
    json_files/FreeSound/fsd_final.json
    json_files/SoundBible/sb_final.json
    json_files/blacklist/*.json            (clips overlapping the test sets)
    AudioSet_SL/*.flac  BBC_Sound_Effects/*.flac  FreeSound/*.flac  SoundBible/*.flac
                        (or <Source>_flac/, audio/<Source>/, waveforms/<Source>_flac/;
                         or under --audio_dir)"""


def audio_file_name(source: str, clip_id: str) -> str:
    """The FLAC name of a clip: ``<id>.flac``; AudioSet_SL ids end in ``.wav`` already."""
    if source == "AudioSet_SL" and clip_id.endswith(".wav"):
        return clip_id[: -len(".wav")] + ".flac"
    return f"{clip_id}.flac"


def source_audio_folder(base: Path, source: str) -> Optional[Path]:
    """The first existing audio folder of ``source`` under ``base``."""
    for folder in (base / source, base / f"{source}_flac", base / "audio" / source,
                   base / "Audio" / source, base / "waveforms" / f"{source}_flac"):
        if folder.is_dir():
            return folder
    return None


def read_items(path: Path, root: Path) -> List[dict]:
    """The items of one source's JSON file."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise layout_error(VARIABLE, root, f"cannot read {path}: {err}", LAYOUT) from err
    items = content.get("data") if isinstance(content, dict) else content
    if not isinstance(items, list):
        raise layout_error(VARIABLE, root, f"{path} has no 'data' list", LAYOUT)
    return items


def read_blacklists(root: Path, names: str) -> Dict[str, Set[str]]:
    """``{source: ids}`` from ``json_files/blacklist/`` (``names``: all, none, or a,b.json)."""
    if names == "none":
        return {}
    folder = root / "json_files" / "blacklist"
    if names == "all":
        files = sorted(folder.glob("*.json"))
        if not files:
            raise layout_error(VARIABLE, root, "no json_files/blacklist/*.json (give "
                               "--blacklists none to train on clips that overlap test sets)",
                               LAYOUT)
    else:
        files = [folder / n.strip() for n in names.split(",") if n.strip()]
        absent = [str(f) for f in files if not f.is_file()]
        if absent:
            raise layout_error(VARIABLE, root, f"no blacklist {', '.join(absent)}", LAYOUT)
    blocked: Dict[str, Set[str]] = {}
    for path in files:
        content = json.loads(path.read_text(encoding="utf-8"))
        for key, ids in content.items():
            if key not in BLACKLIST_KEYS:
                raise layout_error(VARIABLE, root, f"{path}: unknown key {key!r} (known: "
                                   f"{', '.join(BLACKLIST_KEYS)})", LAYOUT)
            blocked.setdefault(BLACKLIST_KEYS[key], set()).update(str(i) for i in ids)
    return blocked


def read_source(root: Path, source: str, audio_base: Path, blocked: Set[str],
                out_dir: Path) -> List[Clip]:
    """The clips of one source whose FLAC exists and whose id is not blacklisted."""
    metadata, short = SOURCES[source]
    items = read_items(root / "json_files" / source / metadata, root)
    folder = source_audio_folder(audio_base, source)
    if folder is None:
        raise layout_error(VARIABLE, root, f"no audio folder for {source} under {audio_base}",
                           LAYOUT)
    audio = AudioIndex([folder])
    clips, missing, excluded = [], [], 0
    for item in items:
        clip_id = str(item.get("id", ""))
        if not clip_id or "caption" not in item:
            raise layout_error(VARIABLE, root, f"{metadata}: an item without 'id' or "
                               f"'caption': {str(item)[:200]}", LAYOUT)
        if clip_id in blocked:
            excluded += 1
            continue
        path = audio.find([audio_file_name(source, clip_id)])
        if path is None:
            missing.append(audio_file_name(source, clip_id))
            continue
        duration = item.get("duration")
        clip = caption_clip(make_utt_id(f"wavcaps-{short}", Path(clip_id).stem if
                                        source == "AudioSet_SL" else clip_id),
                            path, [item["caption"]],
                            float(duration) if duration is not None else None)
        if clip is not None:
            clips.append(clip)
    print(f"wavcaps {source}: {len(clips)} clips, {excluded} blacklisted, {len(missing)} "
          f"without audio, of {len(items)}", file=sys.stderr)
    report_missing(f"wavcaps_{short}", missing, len(items), out_dir)
    return clips


def prepare(root: Optional[str], out_dir: str, sources: str = ",".join(SOURCES),
            blacklists: str = "all", audio_dir: Optional[str] = None) -> Dict[str, int]:
    """Write ``<out_dir>/wavcaps``; returns ``{"wavcaps": number of clips}``."""
    chosen = [s.strip() for s in sources.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SOURCES]
    if unknown or not chosen:
        raise ValueError(f"--sources: unknown source(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(SOURCES)}")
    release = check_layout(VARIABLE, root, [f"json_files/{s}/{SOURCES[s][0]}" for s in chosen],
                           LAYOUT)
    blocked = read_blacklists(release, blacklists)
    audio_base = Path(audio_dir) if audio_dir else release
    clips = [clip for source in chosen
             for clip in read_source(release, source, audio_base, blocked.get(source, set()),
                                     Path(out_dir))]
    if not clips:
        raise layout_error(VARIABLE, root, "no clip with audio found", LAYOUT)
    return {SET_NAME: write_data_dir(Path(out_dir) / SET_NAME, clips, refs=True)}


def get_parser():
    parser = argparse.ArgumentParser(
        description="Prepare WavCaps (its four sources, blacklists applied) as the caption "
        "set 'wavcaps'")
    parser.add_argument("--root", required=True, help="folder of the release (holds json_files/)")
    parser.add_argument("--out_dir", required=True, help="data dirs are written under it")
    parser.add_argument("--sources", default=",".join(SOURCES),
                        help="comma-separated sources to include (default: all four)")
    parser.add_argument("--blacklists", default="all",
                        help="files of json_files/blacklist/ to apply: 'all' (default), "
                        "'none', or comma-separated file names")
    parser.add_argument("--audio_dir", default=None,
                        help="folder holding the per-source FLAC folders (default: --root)")
    return parser


def main(argv=None) -> Dict[str, int]:
    return run_cli(get_parser(), prepare, argv)


if __name__ == "__main__":
    main()
