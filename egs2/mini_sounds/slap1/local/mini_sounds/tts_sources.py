"""Synthesized speech with exact transcripts: espeak-ng, festival and flite voices.

Each sentence is spoken once, by one voice, so a transcript never appears in two recordings.
Renderers return ``(sample_rate, wave)`` per spec, wave float32 of shape (T,).
"""

import tempfile
from pathlib import Path
from typing import List, Tuple

from mini_sounds.audio import read_mono
from mini_sounds.catalog_synth import (
    ESPEAK_LICENCE,
    ESPEAK_SENTENCES,
    ESPEAK_VOICES,
    FESTIVAL_LICENCES,
    FESTIVAL_VOICES,
    FLITE_LICENCE,
    FLITE_VOICES,
    SENTENCES_PER_VOICE,
    tts_sentence,
)
from mini_sounds.sources import RenderJob
from mini_sounds.synth_sources import Waves, run_program, spec

Skipped = List[Tuple[str, str]]


def _speech_spec(sid: str, origin: str, subject: str, sentence: str, licence: str,
                 package: str):
    return spec(sid, origin, "synthetic speech", f'{subject} says "{sentence}"',
                f'{subject} saying "{sentence}"', licence, package, is_speech=True)


def espeak_jobs() -> Tuple[List[RenderJob], Skipped]:
    """Each written sentence spoken once, by voices taken in turn."""
    jobs = []
    for index, sentence in enumerate(ESPEAK_SENTENCES):
        voice, subject = ESPEAK_VOICES[index % len(ESPEAK_VOICES)]
        jobs.append(RenderJob(kind="espeak", params=(voice, sentence), specs=(_speech_spec(
            f"espeak-s{index:03d}", f"espeak-ng -v {voice} '{sentence}'", subject, sentence,
            ESPEAK_LICENCE, "espeak-ng"),)))
    return jobs, []


def _tts_voice_sentences() -> List[Tuple[str, str, str, List[Tuple[int, str]]]]:
    """(engine, voice, subject, [(sentence index, sentence)]) for every festival and flite
    voice: SENTENCES_PER_VOICE consecutive generated sentences each, none shared."""
    voices = ([("festival", v, s) for v, s in FESTIVAL_VOICES]
              + [("flite", v, s) for v, s in FLITE_VOICES])
    return [(engine, voice, subject,
             [(i, tts_sentence(i)) for i in range(k * SENTENCES_PER_VOICE,
                                                  (k + 1) * SENTENCES_PER_VOICE)])
            for k, (engine, voice, subject) in enumerate(voices)]


def festival_jobs() -> Tuple[List[RenderJob], Skipped]:
    """One festival run per voice, speaking its share of the generated sentences."""
    jobs = []
    for engine, voice, subject, sentences in _tts_voice_sentences():
        if engine != "festival":
            continue
        specs = tuple(_speech_spec(f"festival-s{i:03d}", f"festival voice_{voice} '{text}'",
                                   subject, text, FESTIVAL_LICENCES[voice], "festival")
                      for i, text in sentences)
        jobs.append(RenderJob(kind="festival", specs=specs,
                              params=(voice, tuple(text for _, text in sentences))))
    return jobs, []


def flite_jobs() -> Tuple[List[RenderJob], Skipped]:
    """One job per flite voice, speaking its share of the generated sentences."""
    jobs = []
    for engine, voice, subject, sentences in _tts_voice_sentences():
        if engine != "flite":
            continue
        specs = tuple(_speech_spec(f"flite-s{i:03d}", f"flite -voice {voice} '{text}'",
                                   subject, text, FLITE_LICENCE, "flite")
                      for i, text in sentences)
        jobs.append(RenderJob(kind="flite", specs=specs,
                              params=(voice, tuple(text for _, text in sentences))))
    return jobs, []


def render_espeak(job: RenderJob) -> Waves:
    """Speak one sentence with one espeak-ng voice."""
    voice, sentence = job.params
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "speech.wav"
        run_program(["espeak-ng", "-v", voice, "-w", str(wav_path), sentence])
        wave, rate = read_mono(str(wav_path))
    return [(rate, wave)]


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_festival(job: RenderJob) -> Waves:
    """Speak every sentence of the job in one ``festival --batch`` run of one voice."""
    voice, sentences = job.params
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / f"s{i:03d}.wav" for i in range(len(sentences))]
        script = [f"(voice_{voice})"] + [
            f"(utt.save.wave (SynthText {_scheme_string(text)}) {_scheme_string(str(path))} "
            "'riff)" for text, path in zip(sentences, paths)]
        script_path = Path(tmp) / "speak.scm"
        script_path.write_text("\n".join(script) + "\n", encoding="utf-8")
        run_program(["festival", "--batch", str(script_path)])
        waves = []
        for path in paths:
            wave, rate = read_mono(str(path))
            waves.append((rate, wave))
    return waves


def render_flite(job: RenderJob) -> Waves:
    """Speak every sentence of the job with one flite voice (one short process each)."""
    voice, sentences = job.params
    waves = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, text in enumerate(sentences):
            path = Path(tmp) / f"s{index:03d}.wav"
            run_program(["flite", "-voice", voice, "-t", text, "-o", str(path)])
            wave, rate = read_mono(str(path))
            waves.append((rate, wave))
    return waves
