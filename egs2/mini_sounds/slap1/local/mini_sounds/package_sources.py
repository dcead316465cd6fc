"""Inventory of the recordings that Debian packages ship as files.

Each ``*_jobs(root)`` function scans one package below ``root`` (``/`` for the real system, a
fixture folder in tests) and returns decode jobs plus ``(origin, reason)`` for every file it
leaves out.
"""

import gzip
import re
import struct
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from mini_sounds.catalog_files import (
    ASTERISK_LICENCE,
    ASTERISK_SOUNDS,
    ASTERISK_TONE_PROMPTS,
    ASTERISK_VOICES,
    AsteriskVoice,
    FREEDESKTOP,
    FREEDESKTOP_CHANNEL_WORDS,
    FREEDESKTOP_LICENCES,
    OPENSFX,
    OPENSFX_LICENCE,
    OPENSFX_SKIPPED,
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
ASTERISK_SOUNDS_DIR = "usr/share/asterisk/sounds"
ASTERISK_DIR = f"{ASTERISK_SOUNDS_DIR}/en_US_f_Allison"
ASTERISK_TRANSCRIPTS = "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
OPENSFX_CAT = "usr/share/games/openttd/baseset/opensfx/opensfx.cat"

Skipped = List[Tuple[str, str]]


def source_id(package_tag: str, name: str) -> str:
    """``tag-name`` with everything outside ``[a-z0-9_]`` in the name mapped to ``_``."""
    return f"{package_tag}-" + re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")


def _file_job(sid: str, package: str, path: Path, described: Described, licence: str,
              is_speech: bool = False, transcript_chars: int = 0) -> RenderJob:
    spec = SourceSpec(
        source_id=sid, package=package, origin=str(path), label=described.label,
        phrase=described.phrase, gerund=described.gerund, licence=licence,
        is_speech=is_speech, level_db=described.level_db, transcript_chars=transcript_chars,
    )
    return RenderJob(kind="file", specs=(spec,), params=(str(path),))


def spoken_chars(text: str) -> int:
    """Letters and digits of a transcript: what the speaking-rate check counts."""
    return len(re.sub(r"[\W_]", "", text))


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

    Returns None when nothing spoken is left (e.g. "(2 seconds of silence)") and for
    tone descriptions in angle brackets ("<beep ascending>").
    """
    if "(" in raw or "<" in raw:
        return None
    text = re.sub(r"\[[^\]]*\]", " ", raw)
    text = text.replace("...", " ").replace('"', " ").lower()
    text = re.sub(r"[^a-z0-9',.?!*# -]", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" .!?,")
    return text or None


def clean_translated_transcript(raw: str) -> Optional[str]:
    """:func:`clean_transcript` for the translated prompt sets, any script.

    Stricter than the English rule, because these transcript files also hold translators'
    notes: None when the line has parentheses (notes such as "(enfatico)"), a colon (two
    entries run together) or a bracketed word ("[temporales]": unclear whether it is
    spoken); a bracketed symbol ("trattino [-]") is dropped.
    """
    if "(" in raw or "<" in raw or ":" in raw or re.search(r"\[[^\]]*\w[^\]]*\]", raw):
        return None
    text = re.sub(r"\[[^\]]*\]", " ", raw)
    text = text.replace("...", " ").replace("\u2026", " ").replace("\u2019", "'").lower()
    text = re.sub(r"[^\w',.?!*# -]|_", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" .!?,-")
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
    """Allison Smith's English prompts (:func:`asterisk_english_jobs`) and the translated
    sets of ASTERISK_VOICES (:func:`asterisk_translated_jobs`)."""
    jobs, skipped = asterisk_english_jobs(root)
    for voice in ASTERISK_VOICES:
        found, left_out = asterisk_translated_jobs(root, voice)
        jobs += found
        skipped += left_out
    return jobs, skipped


def asterisk_english_jobs(root: Path) -> Tuple[List[RenderJob], Skipped]:
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
                                      is_speech=True, transcript_chars=spoken_chars(text)))
    return jobs, skipped


def asterisk_translated_jobs(root: Path,
                             voice: AsteriskVoice) -> Tuple[List[RenderJob], Skipped]:
    """One translated prompt set: ``a woman says "..." in spanish``.

    Tone and sound-effect prompts are left out (the English set has them), and so are
    transcripts that :func:`clean_translated_transcript` rejects; the prepare stage also
    drops prompts whose speaking rate does not fit their transcript.
    """
    transcript_file = (root / f"usr/share/doc/asterisk-core-sounds-{voice.lang}"
                       / f"core-sounds-{voice.lang}.txt.gz")
    if not transcript_file.is_file():
        return [], [(str(transcript_file), "transcript file missing")]
    package = f"asterisk-core-sounds-{voice.lang}-wav"
    jobs, skipped = [], []
    for name, raw in sorted(read_asterisk_transcripts(transcript_file).items()):
        path = root / ASTERISK_SOUNDS_DIR / voice.folder / f"{name}.wav"
        if not path.is_file():
            skipped.append((str(path), "listed in the transcripts but not installed"))
            continue
        if name in ASTERISK_TONE_PROMPTS or name.startswith("silence/"):
            skipped.append((str(path), "a tone, sound effect or silence, not speech"))
            continue
        text = clean_translated_transcript(raw)
        if text is None:
            skipped.append((str(path), f"no usable transcript: {raw[:60]!r}"))
        elif len(text.split()) > MAX_SPEECH_WORDS:
            skipped.append((str(path), f"transcript longer than {MAX_SPEECH_WORDS} words"))
        else:
            said = (f'the letter "{text}"' if name.startswith("letters/") and len(text) == 1
                    else f'"{text}"')
            described = Described(f"{voice.language} speech",
                                  f"{voice.speaker} says {said} in {voice.language}",
                                  f"{voice.speaker} saying {said} in {voice.language}")
            sid = source_id(f"asterisk_{voice.lang}", name.replace("/", "-"))
            jobs.append(_file_job(sid, package, path, described, voice.licence,
                                  is_speech=True, transcript_chars=spoken_chars(text)))
    return jobs, skipped


def read_opensfx_catalog(path: Path) -> List[Tuple[int, str, int, int]]:
    """Entries of an OpenTTD sound catalogue (``opensfx.cat``).

    The file starts with (offset, size) uint32 pairs, one per sound (the offset's top bit is
    a format flag); each sound is a length-prefixed name (here: title, credits and licence)
    followed by a RIFF WAV file.

    Returns:
        (index, name, wav offset, wav size) per sound.
    """
    data = path.read_bytes()
    if len(data) < 8:
        raise ValueError(f"{path}: not an OpenTTD sound catalogue")
    count = (struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF) // 8
    entries = []
    for index in range(count):
        offset, size = struct.unpack_from("<II", data, 8 * index)
        offset &= 0x7FFFFFFF
        if offset + size > len(data) or size < 1:
            raise ValueError(f"{path}: entry {index} lies outside the file")
        name_length = data[offset]
        name = data[offset + 1:offset + 1 + name_length].rstrip(b"\0").decode("utf-8", "replace")
        start = offset + 1 + name_length
        entries.append((index, name, start, size - 1 - name_length))
    return entries


def opensfx_jobs(root: Path) -> Tuple[List[RenderJob], Skipped]:
    """OpenSFX, the free sound set of OpenTTD: the sounds of OPENSFX (vehicles, animals,
    machines, weather), each credited in its catalogue entry."""
    cat = root / OPENSFX_CAT
    if not cat.is_file():
        return [], [(str(cat), "OpenSFX catalogue missing")]
    jobs, skipped = [], []
    for index, name, offset, size in read_opensfx_catalog(cat):
        origin = f"{cat}#{index}"
        if index not in OPENSFX:
            skipped.append((origin, OPENSFX_SKIPPED.get(index, "not in the catalog")))
            continue
        described = OPENSFX[index]
        credit = re.sub(r"\s+", " ", name).strip()
        spec = SourceSpec(
            source_id=source_id("opensfx", f"{index:02d}"), package="openttd-opensfx",
            origin=origin, label=described.label, phrase=described.phrase,
            gerund=described.gerund, licence=f"{OPENSFX_LICENCE}: {credit}")
        jobs.append(RenderJob(kind="slice", specs=(spec,), params=(str(cat), offset, size)))
    return jobs, skipped


def _asterisk_speech(name: str, text: str) -> Described:
    """``a woman says "..."`` for a cleaned transcript; single letters are named as such."""
    if name.startswith("letters/") and len(text) == 1:
        return Described("female speech", f'a woman says the letter "{text}"',
                         f'a woman saying the letter "{text}"')
    return Described("female speech", f'a woman says "{text}"', f'a woman saying "{text}"')
