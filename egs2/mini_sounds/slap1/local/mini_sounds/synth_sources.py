"""General MIDI renderings (fluidsynth): instruments, drums and duets of every soundfont.

Job builders describe every rendering with an exact caption (the notes, the pitch region, the
loudness and the pattern are what the MIDI file says); :func:`render_fluidsynth` runs
fluidsynth and returns ``(sample_rate, wave)`` per spec, wave float32 of shape (T,).
"""

import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from mini_sounds import SAMPLE_RATE
from mini_sounds.audio import read_mono
from mini_sounds.catalog_files import SOFT_DB
from mini_sounds.catalog_synth import (
    DRUMS,
    DUET_LABEL,
    DUETS,
    INSTRUMENTS,
    SOUNDFONTS,
    DrumSound,
    Instrument,
    SoundFont,
)
from mini_sounds.midi import Note, midi_parts_bytes
from mini_sounds.sources import RenderJob, SourceSpec

SLOT_S = 5.0  # every rendering gets its own 5 s slot of the rendered file
PERCUSSION_CHANNEL = 9
SOFT_VELOCITY, LOUD_VELOCITY, PATTERN_VELOCITY = 45, 110, 90
RENDERINGS_PER_JOB = 80  # one fluidsynth run per 80 renderings: loading a soundfont is slow

Waves = List[Tuple[int, np.ndarray]]
# one rendering: the (channel, program) pairs it uses and its (channel, note) pairs
Slot = Tuple[Tuple[Tuple[int, int], ...], Tuple[Tuple[int, Note], ...]]
# (tag, what the subject plays, notes of the slot on the job's channel, level_db)
Variant = Tuple[str, str, Tuple[Note, ...], float]


def spec(sid: str, origin: str, label: str, phrase: str, gerund: str, licence: str,
         package: str, level_db: float = 0.0, is_speech: bool = False) -> SourceSpec:
    return SourceSpec(source_id=sid, package=package, origin=origin, label=label,
                      phrase=phrase, gerund=gerund, licence=licence, is_speech=is_speech,
                      level_db=level_db)


def instrument_variants(instrument: Instrument) -> List[Variant]:
    """What one instrument plays, one rendering each.

    Single 1.5 s notes at three pitches x two dynamics; a rising and a falling arpeggio; a
    short note; a long low note; the same note four times; a rising and a falling five-note
    scale; and a chord for instruments that play chords.
    """
    variants: List[Variant] = []
    for pitch_word, key in zip(("low", "middle", "high"), instrument.notes):
        for adverb, velocity, level in (("softly", SOFT_VELOCITY, SOFT_DB),
                                        ("loudly", LOUD_VELOCITY, 0.0)):
            variants.append((f"{pitch_word}_{adverb}", f"a {pitch_word} note {adverb}",
                             (Note(0.0, 1.5, key, velocity),), level))
    low, middle = instrument.notes[0], instrument.notes[1]
    arpeggio = (middle, middle + 4, middle + 7)
    for direction, keys in (("rising", arpeggio), ("falling", arpeggio[::-1])):
        variants.append((direction, f"three {direction} notes",
                         tuple(Note(0.5 * i, 0.45, k, PATTERN_VELOCITY)
                               for i, k in enumerate(keys)), 0.0))
    variants.append(("short", "a short note", (Note(0.0, 0.2, middle, PATTERN_VELOCITY),), 0.0))
    variants.append(("long", "a long low note", (Note(0.0, 3.0, low, PATTERN_VELOCITY),), 0.0))
    variants.append(("repeated", "the same note four times",
                     tuple(Note(0.4 * i, 0.25, middle, PATTERN_VELOCITY) for i in range(4)), 0.0))
    scale = (middle, middle + 2, middle + 4, middle + 5, middle + 7)
    for direction, keys in (("rising", scale), ("falling", scale[::-1])):
        variants.append((f"scale_{direction[:4]}", f"a {direction} scale of five notes",
                         tuple(Note(0.35 * i, 0.3, k, PATTERN_VELOCITY)
                               for i, k in enumerate(keys)), 0.0))
    if instrument.chords:
        variants.append(("chord", "a chord",
                         tuple(Note(0.0, 1.5, k, PATTERN_VELOCITY) for k in arpeggio), 0.0))
    return variants


def drum_variants(drum: DrumSound) -> List[Variant]:
    """One soft hit, one loud hit, two and three loud hits of a GM percussion key."""
    return [
        ("soft", "once softly", (Note(0.0, 0.2, drum.key, SOFT_VELOCITY),), SOFT_DB),
        ("loud", "once loudly", (Note(0.0, 0.2, drum.key, LOUD_VELOCITY),), 0.0),
        ("twice", "twice", tuple(Note(0.4 * i, 0.2, drum.key, LOUD_VELOCITY) for i in range(2)),
         0.0),
        ("three", "three times",
         tuple(Note(0.35 * i, 0.2, drum.key, LOUD_VELOCITY) for i in range(3)), 0.0),
    ]


Rendering = Tuple[SourceSpec, Slot]


def _slot(programs: Dict[int, int], notes: Sequence[Tuple[int, Note]]) -> Slot:
    return tuple(sorted(programs.items())), tuple(notes)


def _instrument_renderings(instrument: Instrument, font: SoundFont,
                           path: str) -> List[Rendering]:
    variants = instrument_variants(instrument)
    origin = f"fluidsynth {path} program={instrument.program}"
    specs = [spec(f"{font.tag}-p{instrument.program:03d}-{tag}", f"{origin} {tag}",
                  instrument.label, f"{instrument.subject} {instrument.verb} {what}",
                  f"{instrument.subject} {instrument.verb_ing} {what}", font.licence,
                  font.package, level)
             for tag, what, _, level in variants]
    slots = [_slot({0: instrument.program}, [(0, note) for note in notes])
             for _, _, notes, _ in variants]
    return list(zip(specs, slots))


def _drum_renderings(drum: DrumSound, font: SoundFont, path: str) -> List[Rendering]:
    variants = drum_variants(drum)
    origin = f"fluidsynth {path} percussion key={drum.key}"
    specs = [spec(f"{font.tag}-k{drum.key:03d}-{tag}", f"{origin} {tag}", drum.label,
                  f"{drum.subject} {drum.verb} {how}", f"{drum.subject} {drum.verb_ing} {how}",
                  font.licence, font.package, level)
             for tag, how, _, level in variants]
    slots = [_slot({PERCUSSION_CHANNEL: 0}, [(PERCUSSION_CHANNEL, note) for note in notes])
             for _, _, notes, _ in variants]
    return list(zip(specs, slots))


def _duet_renderings(lower: Instrument, upper: Instrument, font: SoundFont,
                     path: str) -> List[Rendering]:
    """Two renderings: both instruments play one note together, and the lower one holds a
    long note while the upper one plays three rising notes."""
    if lower.verb != "plays" or upper.verb != "plays":
        raise ValueError(f"duet captions need instruments that 'play': {lower}, {upper}")
    pair = f"{lower.subject} and {upper.subject}"
    together = ((0, Note(0.0, 1.5, lower.notes[1], PATTERN_VELOCITY)),
                (1, Note(0.0, 1.5, upper.notes[1], PATTERN_VELOCITY)))
    top = upper.notes[1]
    over = ((0, Note(0.0, 2.4, lower.notes[0], PATTERN_VELOCITY)),
            *((1, Note(0.6 + 0.5 * i, 0.45, k, PATTERN_VELOCITY))
              for i, k in enumerate((top, top + 4, top + 7))))
    captions = (
        ("together", f"{pair} play a note together", f"{pair} playing a note together"),
        ("over", f"{lower.subject} holds a long note while {upper.subject} plays three "
                 "rising notes",
         f"{lower.subject} holding a long note while {upper.subject} plays three rising notes"),
    )
    origin = f"fluidsynth {path} programs={lower.program},{upper.program}"
    specs = [spec(f"{font.tag}-d{lower.program:03d}_{upper.program:03d}-{tag}", f"{origin} {tag}",
                  DUET_LABEL, phrase, gerund, font.licence, font.package)
             for tag, phrase, gerund in captions]
    programs = {0: lower.program, 1: upper.program}
    return list(zip(specs, [_slot(programs, together), _slot(programs, over)]))


def fluidsynth_jobs(root: Path) -> Tuple[List[RenderJob], List[Tuple[str, str]]]:
    """Every instrument, drum and duet rendering of every installed soundfont, in jobs of
    RENDERINGS_PER_JOB; a missing soundfont is skipped."""
    by_program = {instrument.program: instrument for instrument in INSTRUMENTS}
    jobs, skipped = [], []
    for font in SOUNDFONTS:
        path = root / font.path
        if not path.is_file():
            skipped.append((str(path), "soundfont missing: no renderings with it"))
            continue
        renderings: List[Rendering] = []
        for instrument in INSTRUMENTS:
            if instrument.program not in font.skip_programs:
                renderings += _instrument_renderings(instrument, font, str(path))
        for drum in DRUMS:
            renderings += _drum_renderings(drum, font, str(path))
        for lo, hi in DUETS:
            if lo not in font.skip_programs and hi not in font.skip_programs:
                renderings += _duet_renderings(by_program[lo], by_program[hi], font, str(path))
        for start in range(0, len(renderings), RENDERINGS_PER_JOB):
            chunk = renderings[start:start + RENDERINGS_PER_JOB]
            jobs.append(RenderJob(kind="fluidsynth", specs=tuple(s for s, _ in chunk),
                                  params=(str(path), tuple(slot for _, slot in chunk))))
    return jobs, skipped


def render_fluidsynth(job: RenderJob) -> Waves:
    """Render all slots of a job in one fluidsynth run (reverb and chorus off, 16 kHz).

    Slot ``i`` starts at ``i * SLOT_S`` s with its program changes; its notes end well before
    the next slot, so each rendering is cut out of its own slot.
    """
    soundfont, slots = job.params
    changes = [(SLOT_S * index, channel, program)
               for index, (programs, _) in enumerate(slots) for channel, program in programs]
    notes = [(channel, note._replace(start=note.start + SLOT_S * index))
             for index, (_, slot_notes) in enumerate(slots) for channel, note in slot_notes]
    with tempfile.TemporaryDirectory() as tmp:
        midi_path, wav_path = Path(tmp) / "notes.mid", Path(tmp) / "notes.wav"
        midi_path.write_bytes(midi_parts_bytes(
            changes, notes, silence_at=[SLOT_S * i for i in range(1, len(slots))]))
        run_program(["fluidsynth", "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", "0.5",
                     "-r", str(SAMPLE_RATE), "-F", str(wav_path), "-T", "wav", "-O", "s16",
                     soundfont, str(midi_path)])
        wave, rate = read_mono(str(wav_path))
    slot_len = int(SLOT_S * rate)
    wave = np.pad(wave, (0, max(0, slot_len * len(slots) - wave.size)))
    return [(rate, wave[i * slot_len:(i + 1) * slot_len]) for i in range(len(slots))]


def run_program(command: List[str], stdin: str = "") -> None:
    """Run an external renderer; RuntimeError (with its stderr) when it is absent or fails."""
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=300,
                       input=stdin.encode("utf-8") if stdin else None)
    except FileNotFoundError as err:
        raise RuntimeError(f"{command[0]} is not installed") from err
    except subprocess.CalledProcessError as err:
        raise RuntimeError(f"{' '.join(command[:3])} failed: {err.stderr.decode()[-300:]}") from err
