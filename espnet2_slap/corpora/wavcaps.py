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
``<A>/audio/<Source>``, ``<A>/Audio/<Source>``, ``<A>/waveforms/<Source>_flac`` and the
zips' own deep path, ``<A>/[Zip_files/<Source>/]mnt/fast/nobackup/scratch4weeks/xm00178/
WavCaps/data/waveforms/<Source>_flac`` (the zips unpacked in place) that exists, else any
``*/waveforms/<Source>_flac`` below ``A`` (``A`` = ``--audio_dir`` or the root).

Blacklists (``json_files/blacklist/*.json``, ``{"AudioSet": ["Y....wav", ...], "FreeSound":
["<id>", ...]}``) name WavCaps clips that are also in other corpora (see
:data:`KNOWN_BLACKLISTS`): ``blacklist_exclude_test_ac.json`` the AudioCaps val/test and
Clotho validation/evaluation clips, ``blacklist_exclude_all_ac.json`` every AudioCaps and
Clotho clip (AudioCaps train included), ``blacklist_exclude_ub8k_esc50_vggsound.json`` the
zero-shot sets' clips. ``--blacklists all`` (the default) applies every file there, so it also
drops the ~49k AudioSet_SL clips that are AudioCaps train clips; each source's line says how
many each file dropped. Every audio header is read: clips whose FLAC is absent, empty or not
audio are skipped (one line each for unreadable ones), counted and listed in
``<out_dir>/local/`` (partial downloads are common). Clips over 30 s are kept (training crops
them). Writes ``<out_dir>/wavcaps/``.
"""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from espnet2_slap.corpora.caption_sets import (
    AudioIndex,
    caption_clip,
    first_readable,
    layout_error,
    report_missing,
    report_unreadable,
    run_cli,
)
from espnet2_slap.corpora.kaldi_dir import Clip, check_layout, make_utt_id, write_data_dir
from espnet2_slap.corpora.sources import note_file

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
# the blacklists of github.com/XinhaoMei/WavCaps (data/json_files/blacklist/) and what they hold
KNOWN_BLACKLISTS = {
    "blacklist_exclude_test_ac.json": "AudioCaps val+test and Clotho validation+evaluation clips",
    "blacklist_exclude_all_ac.json": "every AudioCaps and Clotho clip, train included",
    "blacklist_exclude_ub8k_esc50_vggsound.json": "UrbanSound8K, ESC-50 and VGGSound clips",
}
# where the zips put the FLACs when unpacked in place (below the folder they are unzipped in)
UNZIPPED = Path("mnt/fast/nobackup/scratch4weeks/xm00178/WavCaps/data/waveforms")
SEARCH_DEPTH = 16  # folder levels searched for */waveforms/<Source>_flac
LAYOUT = """  <WAVCAPS>/
    json_files/AudioSet_SL/as_final.json
    json_files/BBC_Sound_Effects/bbc_final.json
    json_files/FreeSound/fsd_final.json
    json_files/SoundBible/sb_final.json
    json_files/blacklist/*.json            (clips WavCaps shares with other corpora)
    AudioSet_SL/*.flac  BBC_Sound_Effects/*.flac  FreeSound/*.flac  SoundBible/*.flac
                        (or <Source>_flac/, audio/<Source>/, waveforms/<Source>_flac/, or
                         where the zips unpack: mnt/.../WavCaps/data/waveforms/<Source>_flac/;
                         or under --audio_dir)"""


def audio_file_name(source: str, clip_id: str) -> str:
    """The FLAC name of a clip: ``<id>.flac``; AudioSet_SL ids end in ``.wav`` already."""
    if source == "AudioSet_SL" and clip_id.endswith(".wav"):
        return clip_id[: -len(".wav")] + ".flac"
    return f"{clip_id}.flac"


def fixed_audio_folders(base: Path, source: str) -> List[Path]:
    """The audio folders of ``source`` looked for first, in order."""
    return [base / source, base / f"{source}_flac", base / "audio" / source,
            base / "Audio" / source, base / "waveforms" / f"{source}_flac",
            base / UNZIPPED / f"{source}_flac",
            base / "Zip_files" / source / UNZIPPED / f"{source}_flac"]


def search_waveforms(base: Path, source: str) -> List[Path]:
    """Every ``*/waveforms/<Source>_flac`` folder below ``base`` (breadth first, sorted).

    Hidden folders, ``json_files`` and ``*_flac`` folders (audio) are not descended into.
    """
    wanted, found, level = f"{source}_flac", [], [base]
    seen = set()
    for _ in range(SEARCH_DEPTH):
        below = []
        for folder in level:
            try:
                entries = sorted((e for e in os.scandir(folder) if e.is_dir()),
                                 key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                path = Path(entry.path)
                if entry.name == wanted and folder.name == "waveforms":
                    found.append(path)
                elif not (entry.name.startswith(".") or entry.name == "json_files"
                          or entry.name.endswith("_flac")):
                    real = os.path.realpath(path)
                    if real not in seen:
                        seen.add(real)
                        below.append(path)
        if found or not below:
            break
        level = below
    return found


def source_audio_folder(base: Path, source: str) -> Tuple[Optional[Path], List[str]]:
    """``(the audio folder of source or None, what was searched)`` under ``base``."""
    fixed = fixed_audio_folders(base, source)
    for folder in fixed:
        if folder.is_dir():
            return folder, []
    found = search_waveforms(base, source)
    if len(found) > 1:
        print(f"wavcaps {source}: several audio folders, using the first: "
              f"{', '.join(map(str, found))}", file=sys.stderr)
    searched = [str(f) for f in fixed] + [f"every */waveforms/{source}_flac below {base} "
                                          f"({SEARCH_DEPTH} levels)"]
    return (found[0] if found else None), searched


def read_items(path: Path, root: Path) -> List[dict]:
    """The items of one source's JSON file."""
    note_file(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise layout_error(VARIABLE, root, f"cannot read {path}: {err}", LAYOUT) from err
    items = content.get("data") if isinstance(content, dict) else content
    if not isinstance(items, list):
        raise layout_error(VARIABLE, root, f"{path} has no 'data' list", LAYOUT)
    return items


def read_blacklists(root: Path, names: str) -> Dict[str, Dict[str, Set[str]]]:
    """``{file name: {source: ids}}`` from ``json_files/blacklist/`` (``names``: all, none,
    or a,b.json)."""
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
    blocked: Dict[str, Dict[str, Set[str]]] = {}
    for path in files:
        note_file(path)
        content = json.loads(path.read_text(encoding="utf-8"))
        for key, ids in content.items():
            if key not in BLACKLIST_KEYS:
                raise layout_error(VARIABLE, root, f"{path}: unknown key {key!r} (known: "
                                   f"{', '.join(BLACKLIST_KEYS)})", LAYOUT)
            blocked.setdefault(path.name, {}).setdefault(BLACKLIST_KEYS[key], set()).update(
                str(i) for i in ids)
    for name in blocked:
        print(f"wavcaps: applying {name} ({KNOWN_BLACKLISTS.get(name, 'not a WavCaps list')})",
              file=sys.stderr)
    return blocked


def read_source(root: Path, source: str, audio_base: Path,
                blocked: Dict[str, Dict[str, Set[str]]], out_dir: Path) -> List[Clip]:
    """The clips of one source whose FLAC exists and reads and whose id is not blacklisted."""
    metadata, short = SOURCES[source]
    items = read_items(root / "json_files" / source / metadata, root)
    folder, searched = source_audio_folder(audio_base, source)
    if folder is None:
        raise layout_error(VARIABLE, root, f"no audio folder for {source}; searched "
                           f"{', '.join(searched)} (give --audio_dir, the folder holding the "
                           f"per-source FLAC folders)", LAYOUT)
    audio = AudioIndex([folder])
    lists = {name: ids.get(source, set()) for name, ids in blocked.items()}
    excluded = {name: 0 for name in lists}
    clips, missing, unreadable, dropped = [], [], [], 0
    for item in items:
        clip_id = str(item.get("id", ""))
        if not clip_id or "caption" not in item:
            raise layout_error(VARIABLE, root, f"{metadata}: an item without 'id' or "
                               f"'caption': {str(item)[:200]}", LAYOUT)
        hits = [name for name, ids in lists.items() if clip_id in ids]
        if hits:
            dropped += 1
            for name in hits:
                excluded[name] += 1
            continue
        path = audio.find([audio_file_name(source, clip_id)])
        if path is None:
            missing.append(audio_file_name(source, clip_id))
            continue
        path, duration = first_readable(f"wavcaps {source}", [path], unreadable)
        if path is None:
            continue
        clip = caption_clip(make_utt_id(f"wavcaps-{short}", Path(clip_id).stem if
                                        source == "AudioSet_SL" else clip_id),
                            path, [item["caption"]], duration)
        if clip is not None:
            clips.append(clip)
    by_list = ", ".join(f"{name}: {n}" for name, n in sorted(excluded.items()))
    print(f"wavcaps {source}: {len(clips)} clips, {dropped} blacklisted"
          f"{f' ({by_list})' if by_list else ''}, {len(missing)} without audio, "
          f"{len(unreadable)} unreadable, of {len(items)} (audio: {folder})", file=sys.stderr)
    report_missing(f"wavcaps_{short}", missing, len(items), out_dir)
    report_unreadable(f"wavcaps_{short}", unreadable, len(items), out_dir)
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
             for clip in read_source(release, source, audio_base, blocked, Path(out_dir))]
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
                        help="files of json_files/blacklist/ to apply: 'all' (default: every "
                        "file, which drops every AudioCaps/Clotho clip WavCaps shares, train "
                        "included), 'none', or comma-separated file names, e.g. "
                        "blacklist_exclude_test_ac.json (test-set overlap only)")
    parser.add_argument("--audio_dir", default=None,
                        help="folder holding the per-source FLAC folders, or where the zips "
                        "were unpacked (default: --root)")
    return parser


def main(argv=None) -> Dict[str, int]:
    return run_cli(get_parser(), prepare, argv)


if __name__ == "__main__":
    main()
