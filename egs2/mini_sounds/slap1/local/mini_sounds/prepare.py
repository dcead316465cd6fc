"""Prepare stage: every usable source becomes a 16 kHz mono PCM16 wav plus an inventory row.

Per source: decode or render -> mono -> resample to 16 kHz -> trim silent ends -> crop
non-speech to MAX_SOUND_S (speech longer than MAX_SPEECH_S is dropped) -> peak-normalise to
REFERENCE_PEAK * 10**(level_db / 20). Byte-identical results are merged when their labels
agree and dropped when they disagree (the same audio cannot honestly be two animals).
"""

import hashlib
import io
import multiprocessing
import shutil
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mini_sounds import SAMPLE_RATE
from mini_sounds.audio import (
    AudioError,
    crop_with_fade,
    peak_normalise,
    read_mono,
    resample,
    to_pcm16,
    trim_silence,
    write_wav,
)
from mini_sounds.package_sources import (
    asterisk_jobs,
    freedesktop_jobs,
    opensfx_jobs,
    sonic_pi_jobs,
    tuxpaint_jobs,
)
from mini_sounds.sources import (
    MAX_SOUND_S,
    MAX_SPEECH_S,
    MIN_EVENT_S,
    RATE_MIN_CHARS,
    REFERENCE_PEAK,
    SPEAKING_RATE,
    Recording,
    RenderJob,
    SourceSpec,
    write_inventory,
    write_skipped,
)
from mini_sounds.synth_sources import fluidsynth_jobs, render_fluidsynth
from mini_sounds.tts_sources import (
    espeak_jobs,
    festival_jobs,
    flite_jobs,
    render_espeak,
    render_festival,
    render_flite,
)

SYNTHESIZERS = ("fluidsynth", "espeak", "festival", "flite")
RENDERERS = {"fluidsynth": render_fluidsynth, "espeak": render_espeak,
             "festival": render_festival, "flite": render_flite}
Skipped = List[Tuple[str, str]]
# per spec: (spec, (duration_s, wav path, sha1 of the PCM16 samples) or None, skip reason)
JobResult = List[Tuple[SourceSpec, Optional[Tuple[float, str, str]], str]]


def collect_jobs(root: Path, synth: Sequence[str]) -> Tuple[List[RenderJob], Skipped]:
    """All decode / render jobs below ``root`` plus the sources left out while scanning."""
    unknown = set(synth) - set(SYNTHESIZERS)
    if unknown:
        raise ValueError(f"unknown synthesizer(s) {sorted(unknown)}; choose from {SYNTHESIZERS}")
    scanners: List[Callable[[], Tuple[List[RenderJob], Skipped]]] = [
        lambda: tuxpaint_jobs(root), lambda: sonic_pi_jobs(root),
        lambda: asterisk_jobs(root), lambda: freedesktop_jobs(root),
        lambda: opensfx_jobs(root),
    ]
    if "fluidsynth" in synth:
        scanners.append(lambda: fluidsynth_jobs(root))
    if "espeak" in synth:
        scanners.append(espeak_jobs)
    if "festival" in synth:
        scanners.append(festival_jobs)
    if "flite" in synth:
        scanners.append(flite_jobs)
    jobs, skipped = [], []
    for scan in scanners:
        found, left_out = scan()
        jobs += found
        skipped += left_out
    ids = [spec.source_id for job in jobs for spec in job.specs]
    if len(ids) != len(set(ids)):
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"duplicate source ids: {duplicates[:5]}")
    return jobs, skipped


def finish_wave(wave: np.ndarray, rate: int, spec: SourceSpec) -> np.ndarray:
    """Raw decoded (T,) wave -> 16 kHz, trimmed, cropped and normalised float32 (T',).

    Raises AudioError with the reason when the result is unusable.
    """
    wave = trim_silence(resample(wave, rate), SAMPLE_RATE)
    if wave.size < MIN_EVENT_S * SAMPLE_RATE:
        raise AudioError(f"silent or shorter than {MIN_EVENT_S} s")
    if spec.is_speech and wave.size > MAX_SPEECH_S * SAMPLE_RATE:
        raise AudioError(f"speech longer than {MAX_SPEECH_S} s")
    if spec.transcript_chars:
        check_speaking_rate(spec.transcript_chars, wave.size / SAMPLE_RATE)
    wave = crop_with_fade(wave, SAMPLE_RATE, MAX_SOUND_S)
    return peak_normalise(wave, REFERENCE_PEAK * 10 ** (spec.level_db / 20))


def check_speaking_rate(chars: int, seconds: float) -> None:
    """AudioError unless ``chars`` letters and digits fit ``seconds`` of trimmed speech.

    Transcripts of RATE_MIN_CHARS or more must be spoken at SPEAKING_RATE; shorter ones
    (a letter, a digit, a word) only at most at its upper bound.
    """
    low, high = SPEAKING_RATE
    rate = chars / seconds
    if rate > high or (chars >= RATE_MIN_CHARS and rate < low):
        raise AudioError(f"speaking rate {rate:.1f} characters/s outside {low:g}-{high:g}: "
                         "the recording does not match its transcript")


def _raw_waves(job: RenderJob) -> List[Tuple[int, np.ndarray]]:
    if job.kind == "file":
        wave, rate = read_mono(job.params[0])
        return [(rate, wave)]
    if job.kind == "slice":
        path, offset, size = job.params
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(size)
        wave, rate = read_mono(io.BytesIO(data))
        return [(rate, wave)]
    if job.kind in RENDERERS:
        return RENDERERS[job.kind](job)
    raise ValueError(f"unknown job kind {job.kind!r}")


def run_job(job: RenderJob, out_dir: Path) -> JobResult:
    """Decode / render one job and write one wav per usable spec into ``out_dir``."""
    try:
        raw = _raw_waves(job)
    except (AudioError, RuntimeError, OSError) as err:
        return [(spec, None, str(err)) for spec in job.specs]
    results: JobResult = []
    for spec, (rate, wave) in zip(job.specs, raw):
        try:
            wave = finish_wave(wave, rate, spec)
        except AudioError as err:
            results.append((spec, None, str(err)))
            continue
        path = out_dir / f"{spec.source_id}.wav"
        write_wav(path, wave)
        digest = hashlib.sha1(to_pcm16(wave).tobytes()).hexdigest()
        results.append((spec, (wave.size / SAMPLE_RATE, str(path), digest), ""))
    return results


def deduplicate(results: JobResult, final_dir: Path) -> Tuple[List[Recording], Skipped]:
    """Merge identical audio with one label (keep the smallest id); drop it if labels differ."""
    by_digest: Dict[str, List[Tuple[SourceSpec, float, str]]] = {}
    for spec, done, _ in results:
        if done is not None:
            duration, path, digest = done
            by_digest.setdefault(digest, []).append((spec, duration, path))
    kept, skipped = [], []
    for group in by_digest.values():
        group.sort(key=lambda item: item[0].source_id)
        labels = sorted({spec.label for spec, _, _ in group})
        if len(labels) > 1:
            skipped += [(spec.origin, f"identical audio labelled {labels}") for spec, _, _ in group]
            continue
        spec, duration, path = group[0]
        wav = final_dir.resolve() / Path(path).name
        kept.append(Recording.from_spec(spec, duration, str(wav)))
        skipped += [(s.origin, f"identical to {spec.source_id}") for s, _, _ in group[1:]]
    return kept, skipped


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _run_job_star(args: Tuple[RenderJob, Path]) -> JobResult:
    return run_job(*args)


def run_jobs(jobs: List[RenderJob], out_dir: Path, nj: int) -> JobResult:
    """Run jobs over ``nj`` processes (in-process when nj == 1); result order is job order."""
    tasks = [(job, out_dir) for job in jobs]
    if nj <= 1:
        return [row for task in tasks for row in _run_job_star(task)]
    with multiprocessing.get_context("spawn").Pool(nj, initializer=_init_worker) as pool:
        return [row for rows in pool.imap(_run_job_star, tasks, chunksize=4) for row in rows]


def prepare(root: Path, audio_dir: Path, local_dir: Path, nj: int,
            synth: Sequence[str]) -> List[Recording]:
    """Build ``audio_dir/sources/*.wav``, ``local_dir/inventory.tsv`` and ``skipped.tsv``."""
    jobs, skipped = collect_jobs(root, synth)
    if not jobs:
        raise FileNotFoundError(f"no source recordings found below {root}")
    final_dir, partial_dir = audio_dir / "sources", audio_dir / "sources.partial"
    shutil.rmtree(partial_dir, ignore_errors=True)
    partial_dir.mkdir(parents=True)
    results = run_jobs(jobs, partial_dir, nj)
    for spec, done, reason in results:
        if done is None:
            print(f"WARNING: skipping {spec.origin}: {reason}", file=sys.stderr)
            skipped.append((spec.origin, reason))
    recordings, duplicates = deduplicate(results, final_dir)
    kept_names = {Path(r.wav).name for r in recordings}
    for path in partial_dir.iterdir():
        if path.name not in kept_names:
            path.unlink()
    shutil.rmtree(final_dir, ignore_errors=True)
    partial_dir.rename(final_dir)
    write_skipped(local_dir / "skipped.tsv", skipped + duplicates)
    write_inventory(local_dir / "inventory.tsv", recordings)
    return recordings
