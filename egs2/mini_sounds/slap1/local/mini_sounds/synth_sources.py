"""Synthesized sources: General MIDI renderings (fluidsynth) and espeak-ng speech.

Job builders describe every rendering with an exact caption; renderers run the external
programs and return ``(sample_rate, wave)`` per spec, wave float32 of shape (T,).
"""

import subprocess
import tempfile
from pathlib import Path
from typing import List, Tuple

import numpy as np

from mini_sounds import SAMPLE_RATE
from mini_sounds.audio import read_mono
from mini_sounds.catalog_files import SOFT_DB
from mini_sounds.catalog_synth import (
    DRUMS,
    ESPEAK_LICENCE,
    ESPEAK_SENTENCES,
    ESPEAK_VOICES,
    FLUID_LICENCE,
    INSTRUMENTS,
    DrumSound,
    Instrument,
)
from mini_sounds.midi import Note, midi_file_bytes
from mini_sounds.sources import RenderJob, SourceSpec

SOUNDFONT = "usr/share/sounds/sf2/FluidR3_GM.sf2"
SLOT_S = 5.0  # every rendering gets its own 5 s slot of the rendered file
PERCUSSION_CHANNEL = 9
SOFT_VELOCITY, LOUD_VELOCITY, PATTERN_VELOCITY = 45, 110, 90

Waves = List[Tuple[int, np.ndarray]]


def _spec(sid: str, origin: str, label: str, phrase: str, gerund: str, licence: str,
          package: str, level_db: float = 0.0, is_speech: bool = False) -> SourceSpec:
    return SourceSpec(source_id=sid, package=package, origin=origin, label=label,
                      phrase=phrase, gerund=gerund, licence=licence, is_speech=is_speech,
                      level_db=level_db)


def _instrument_job(instrument: Instrument, soundfont: str) -> RenderJob:
    """Three pitches x two dynamics of single notes, plus a rising and a falling arpeggio."""
    specs, slots = [], []
    for pitch_word, key in zip(("low", "middle", "high"), instrument.notes):
        for adverb, velocity, level in (("softly", SOFT_VELOCITY, SOFT_DB),
                                        ("loudly", LOUD_VELOCITY, 0.0)):
            what = f"a {pitch_word} note {adverb}"
            specs.append((f"{pitch_word}_{adverb}", what, level))
            slots.append((Note(0.0, 1.5, key, velocity),))
    middle = instrument.notes[1]
    arpeggio = (middle, middle + 4, middle + 7)
    for direction, keys in (("rising", arpeggio), ("falling", arpeggio[::-1])):
        specs.append((direction, f"three {direction} notes", 0.0))
        slots.append(tuple(Note(0.5 * i, 0.45, k, PATTERN_VELOCITY) for i, k in enumerate(keys)))
    origin = f"fluidsynth {soundfont} program={instrument.program}"
    return RenderJob(
        kind="fluidsynth",
        specs=tuple(
            _spec(f"fluid-p{instrument.program:03d}-{tag}", f"{origin} {tag}", instrument.label,
                  f"{instrument.subject} {instrument.verb} {what}",
                  f"{instrument.subject} {instrument.verb_ing} {what}",
                  FLUID_LICENCE, "fluid-soundfont-gm", level)
            for tag, what, level in specs
        ),
        params=(soundfont, 0, instrument.program, tuple(slots)),
    )


def _drum_job(drum: DrumSound, soundfont: str) -> RenderJob:
    """One soft hit, one loud hit and three loud hits of a GM percussion key."""
    variants = (
        ("soft", "once softly", (Note(0.0, 0.2, drum.key, SOFT_VELOCITY),), SOFT_DB),
        ("loud", "once loudly", (Note(0.0, 0.2, drum.key, LOUD_VELOCITY),), 0.0),
        ("three", "three times",
         tuple(Note(0.35 * i, 0.2, drum.key, LOUD_VELOCITY) for i in range(3)), 0.0),
    )
    origin = f"fluidsynth {soundfont} percussion key={drum.key}"
    return RenderJob(
        kind="fluidsynth",
        specs=tuple(
            _spec(f"fluid-k{drum.key:03d}-{tag}", f"{origin} {tag}", drum.label,
                  f"{drum.subject} {drum.verb} {how}", f"{drum.subject} {drum.verb_ing} {how}",
                  FLUID_LICENCE, "fluid-soundfont-gm", level)
            for tag, how, _, level in variants
        ),
        params=(soundfont, PERCUSSION_CHANNEL, 0, tuple(notes for _, _, notes, _ in variants)),
    )


def fluidsynth_jobs(root: Path) -> Tuple[List[RenderJob], List[Tuple[str, str]]]:
    """One job per instrument / drum; skipped entirely when the soundfont is missing."""
    soundfont = root / SOUNDFONT
    if not soundfont.is_file():
        return [], [(str(soundfont), "soundfont missing: no General MIDI renderings")]
    jobs = [_instrument_job(instrument, str(soundfont)) for instrument in INSTRUMENTS]
    jobs += [_drum_job(drum, str(soundfont)) for drum in DRUMS]
    return jobs, []


def espeak_jobs() -> Tuple[List[RenderJob], List[Tuple[str, str]]]:
    """Each written sentence spoken once, by voices taken in turn."""
    jobs = []
    for index, sentence in enumerate(ESPEAK_SENTENCES):
        voice, subject = ESPEAK_VOICES[index % len(ESPEAK_VOICES)]
        spec = _spec(f"espeak-s{index:03d}", f"espeak-ng -v {voice} '{sentence}'",
                     "synthetic speech", f'{subject} says "{sentence}"',
                     f'{subject} saying "{sentence}"', ESPEAK_LICENCE, "espeak-ng",
                     is_speech=True)
        jobs.append(RenderJob(kind="espeak", specs=(spec,), params=(voice, sentence)))
    return jobs, []


def render_fluidsynth(job: RenderJob) -> Waves:
    """Render all slots of a job in one fluidsynth run (reverb and chorus off, 16 kHz)."""
    soundfont, channel, program, slots = job.params
    notes = [note._replace(start=note.start + SLOT_S * index)
             for index, slot in enumerate(slots) for note in slot]
    with tempfile.TemporaryDirectory() as tmp:
        midi_path, wav_path = Path(tmp) / "notes.mid", Path(tmp) / "notes.wav"
        midi_path.write_bytes(midi_file_bytes(notes, channel, program))
        _run(["fluidsynth", "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", "0.5",
              "-r", str(SAMPLE_RATE), "-F", str(wav_path), "-T", "wav", "-O", "s16",
              soundfont, str(midi_path)])
        wave, rate = read_mono(str(wav_path))
    slot_len = int(SLOT_S * rate)
    wave = np.pad(wave, (0, max(0, slot_len * len(slots) - wave.size)))
    return [(rate, wave[i * slot_len:(i + 1) * slot_len]) for i in range(len(slots))]


def render_espeak(job: RenderJob) -> Waves:
    """Speak one sentence with one espeak-ng voice."""
    voice, sentence = job.params
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "speech.wav"
        _run(["espeak-ng", "-v", voice, "-w", str(wav_path), sentence])
        wave, rate = read_mono(str(wav_path))
    return [(rate, wave)]


def _run(command: List[str]) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    except FileNotFoundError as err:
        raise RuntimeError(f"{command[0]} is not installed") from err
    except subprocess.CalledProcessError as err:
        raise RuntimeError(f"{' '.join(command[:3])} failed: {err.stderr.decode()[-300:]}") from err
