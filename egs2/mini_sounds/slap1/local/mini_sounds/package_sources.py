"""Inventory of the recordings that Debian packages ship as files.

Each ``*_jobs(root)`` function scans one package below ``root`` (``/`` for the real system, a
fixture folder in tests) and returns decode jobs plus ``(origin, reason)`` for every file it
leaves out.
"""

import gzip
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from mini_sounds.catalog_files import (
    ASTERISK_LICENCE,
    ASTERISK_SOUNDS,
    FREEDESKTOP,
    FREEDESKTOP_CHANNEL_WORDS,
    FREEDESKTOP_LICENCES,
    SONIC_PI,
    SONIC_PI_LICENCE,
    SONIC_PI_SKIPPED,
    TUXPAINT,
    TUXPAINT_LICENCE,
    TUXPAINT_SKIPPED,
    TUXPAINT_SPEECH,
    Described,
)
from mini_sounds.sources import MAX_SPEECH_WORDS, RenderJob, SourceSpec

TUXPAINT_DIR = "usr/share/tuxpaint/stamps"
SONIC_PI_DIR = "usr/share/sonic-pi/samples"
FREEDESKTOP_DIR = "usr/share/sounds/freedesktop/stereo"
ASTERISK_DIR = "usr/share/asterisk/sounds/en_US_f_Allison"
ASTERISK_TRANSCRIPTS = "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"

Skipped = List[Tuple[str, str]]


def source_id(package_tag: str, name: str) -> str:
    """``tag-name`` with everything outside ``[a-z0-9_]`` in the name mapped to ``_``."""
    return f"{package_tag}-" + re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")


def _file_job(sid: str, package: str, path: Path, described: Described, licence: str,
              is_speech: bool = False) -> RenderJob:
    spec = SourceSpec(
        source_id=sid, package=package, origin=str(path), label=described.label,
        phrase=described.phrase, gerund=described.gerund, licence=licence,
        is_speech=is_speech, level_db=described.level_db,
    )
    return RenderJob(kind="file", specs=(spec,), params=(str(path),))


def tuxpaint_jobs(root: Path) -> Tuple[List[RenderJob], Skipped]:
    """Stamp sound effects (``NAME.ogg``); spoken ``*_desc*`` files and ``symbols/`` are
    left out (their transcripts are not verified / they are not sound effects)."""
    stamps = root / TUXPAINT_DIR
    jobs, skipped, seen = [], [], set()
    for path in sorted(stamps.rglob("*.ogg")):
        relative = path.relative_to(stamps)
        if relative.parts[0] == "symbols" or "_desc" in path.stem:
            continue
        name = path.stem
        sid = source_id("tuxpaint", name)
        if sid in seen:
            sid = source_id("tuxpaint", f"{path.parent.name}_{name}")
        seen.add(sid)
        if name in TUXPAINT:
            jobs.append(_file_job(sid, "tuxpaint-stamps-default", path, TUXPAINT[name],
                                  TUXPAINT_LICENCE))
        elif name in TUXPAINT_SPEECH:
            jobs.append(_file_job(sid, "tuxpaint-stamps-default", path, TUXPAINT_SPEECH[name],
                                  TUXPAINT_LICENCE, is_speech=True))
        else:
            skipped.append((str(path), TUXPAINT_SKIPPED.get(name, "not in the catalog")))
    return jobs, skipped


def sonic_pi_jobs(root: Path) -> Tuple[List[RenderJob], Skipped]:
    """Sonic Pi's CC0 samples (``*.flac``), labelled by the curated name table."""
    jobs, skipped = [], []
    for path in sorted((root / SONIC_PI_DIR).glob("*.flac")):
        name = path.stem
        if name in SONIC_PI:
            jobs.append(_file_job(source_id("sonicpi", name), "sonic-pi-samples", path,
                                  SONIC_PI[name], SONIC_PI_LICENCE))
        else:
            skipped.append((str(path), SONIC_PI_SKIPPED.get(name, "not in the catalog")))
    return jobs, skipped


def freedesktop_jobs(root: Path) -> Tuple[List[RenderJob], Skipped]:
    """The few freedesktop theme sounds with a nameable source, plus the spoken channel names."""
    jobs, skipped = [], []
    for path in sorted((root / FREEDESKTOP_DIR).glob("*.oga")):
        name = path.stem
        sid = source_id("freedesktop", name)
        licence = FREEDESKTOP_LICENCES.get(name, "")
        if name in FREEDESKTOP:
            jobs.append(_file_job(sid, "sound-theme-freedesktop", path, FREEDESKTOP[name],
                                  licence))
        elif name in FREEDESKTOP_CHANNEL_WORDS:
            words = FREEDESKTOP_CHANNEL_WORDS[name]
            described = Described("speech", f'a voice says "{words}"',
                                  f'a voice saying "{words}"')
            jobs.append(_file_job(sid, "sound-theme-freedesktop", path, described, licence,
                                  is_speech=True))
        else:
            skipped.append((str(path), "abstract interface sound without a nameable source"))
    return jobs, skipped


def clean_transcript(raw: str) -> Optional[str]:
    """Caption-ready transcript: lower case, no brackets, ellipses or final punctuation.

    Returns None when nothing spoken is left (e.g. "(2 seconds of silence)").
    """
    if "(" in raw:
        return None
    text = re.sub(r"\[[^\]]*\]", " ", raw)
    text = text.replace("...", " ").replace('"', " ").lower()
    text = re.sub(r"[^a-z0-9',.?!*# -]", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" .!?,")
    return text or None


def read_asterisk_transcripts(path: Path) -> Dict[str, str]:
    """``name: transcript`` lines of core-sounds-en.txt(.gz) -> {name: transcript}."""
    opener = gzip.open if path.suffix == ".gz" else open
    transcripts = {}
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith(";") or ":" not in line:
                continue
            name, text = line.split(":", 1)
            transcripts[name.strip()] = text.strip()
    return transcripts


def asterisk_jobs(root: Path) -> Tuple[List[RenderJob], Skipped]:
    """Allison Smith's prompts: transcripts become ``a woman says "..."`` captions; the
    bracketed sound descriptions become sound captions."""
    transcript_file = root / ASTERISK_TRANSCRIPTS
    if not transcript_file.is_file():
        return [], [(str(transcript_file), "transcript file missing")]
    jobs, skipped = [], []
    for name, raw in sorted(read_asterisk_transcripts(transcript_file).items()):
        path = root / ASTERISK_DIR / f"{name}.wav"
        sid = source_id("asterisk", name.replace("/", "-"))
        if not path.is_file():
            skipped.append((str(path), "listed in the transcripts but not installed"))
        elif name in ASTERISK_SOUNDS:
            jobs.append(_file_job(sid, "asterisk-core-sounds-en-wav", path,
                                  ASTERISK_SOUNDS[name], ASTERISK_LICENCE))
        else:
            text = clean_transcript(raw)
            if text is None:
                skipped.append((str(path), f"no usable transcript: {raw[:60]!r}"))
            elif len(text.split()) > MAX_SPEECH_WORDS:
                skipped.append((str(path), f"transcript longer than {MAX_SPEECH_WORDS} words"))
            else:
                jobs.append(_file_job(sid, "asterisk-core-sounds-en-wav", path,
                                      _asterisk_speech(name, text), ASTERISK_LICENCE,
                                      is_speech=True))
    return jobs, skipped


def _asterisk_speech(name: str, text: str) -> Described:
    """``a woman says "..."`` for a cleaned transcript; single letters are named as such."""
    if name.startswith("letters/") and len(text) == 1:
        return Described("female speech", f'a woman says the letter "{text}"',
                         f'a woman saying the letter "{text}"')
    return Described("female speech", f'a woman says "{text}"', f'a woman saying "{text}"')
