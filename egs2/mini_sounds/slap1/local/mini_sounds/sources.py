"""What a source recording is, how it is rendered, and the ``inventory.tsv`` that lists them."""

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

MIN_EVENT_S = 0.1  # shorter sounds (clicks of a few ms) are skipped
MAX_SOUND_S = 10.0  # longer non-speech recordings are cropped to their first 10 s
MAX_SPEECH_S = 8.0  # longer speech is skipped: cropping would break its transcript
MAX_SPEECH_WORDS = 16  # longer transcripts make captions unwieldy; skipped
# a transcribed recording whose speaking rate (letters and digits per second of trimmed audio)
# falls outside this range does not say what its transcript says (a truncated file, two
# transcript lines run together, a tone described in words); transcripts shorter than
# RATE_MIN_CHARS are checked against the upper bound only (single letters are spoken slowly)
SPEAKING_RATE = (4.0, 20.0)
RATE_MIN_CHARS = 10
REFERENCE_PEAK = 0.9  # every source is peak-normalised to this (times 10**(level_db/20))


@dataclass(frozen=True)
class SourceSpec:
    """A recording before decoding: where it comes from and what it honestly sounds like.

    Attributes:
        source_id: unique id, ``[a-z0-9_-]`` only (used in file names and utt2sources).
        package: Debian package that ships (or renders) it.
        origin: file path, or a description of the rendering for synthesized sources.
        label: class label, a short noun phrase ("rooster", "snare drum").
        phrase: caption clause ("a rooster crows").
        gerund: the same fact as a noun phrase ("a rooster crowing").
        licence: licence of the recording, from the package's copyright file.
        is_speech: the phrase quotes a transcript; such sources are never cropped.
        level_db: peak level relative to REFERENCE_PEAK; negative for "softly" renderings.
        transcript_chars: letters and digits of a recorded transcript whose speaking rate the
            prepare stage checks (0: no check; synthesized speech says its text exactly).
    """

    source_id: str
    package: str
    origin: str
    label: str
    phrase: str
    gerund: str
    licence: str
    is_speech: bool = False
    level_db: float = 0.0
    transcript_chars: int = 0


@dataclass(frozen=True)
class RenderJob:
    """One unit of work of the prepare stage; it yields the audio of one or more specs.

    Attributes:
        kind: "file" (decode the file ``params[0]``), "slice" (decode ``params[2]`` bytes at
            offset ``params[1]`` of the file ``params[0]``) or a synthesizer of
            :data:`mini_sounds.prepare.SYNTHESIZERS`.
        specs: the recordings this job produces, in the order the renderer returns them.
        params: renderer-specific, hashable arguments.
    """

    kind: str
    specs: Tuple[SourceSpec, ...]
    params: Tuple


@dataclass(frozen=True)
class Recording:
    """A prepared source: 16 kHz mono PCM16 wav on disk plus its metadata."""

    source_id: str
    package: str
    origin: str
    label: str
    phrase: str
    gerund: str
    licence: str
    is_speech: bool
    duration: float
    wav: str

    @classmethod
    def from_spec(cls, spec: SourceSpec, duration: float, wav: str) -> "Recording":
        values = {f.name: getattr(spec, f.name) for f in fields(cls) if hasattr(spec, f.name)}
        return cls(duration=round(duration, 6), wav=wav, **values)


def _atomic_tsv(path: Path, header: List[str], rows: Iterable[List[str]]) -> None:
    """Write a header and rows tab-separated; the file appears only when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        for row in [header, *rows]:
            bad = [cell for cell in row if "\t" in cell or "\n" in cell]
            if bad:
                raise ValueError(f"{path}: field {bad[0]!r} holds a tab or newline")
            handle.write("\t".join(row) + "\n")
    os.replace(partial, path)


def _read_tsv(path: Path) -> List[Dict[str, str]]:
    with open(path, encoding="utf-8") as handle:
        header, *lines = handle.read().splitlines()
    names = header.split("\t")
    rows = []
    for number, line in enumerate(lines, start=2):
        cells = line.split("\t")
        if len(cells) != len(names):
            raise ValueError(f"{path}:{number}: expected {len(names)} columns, got {len(cells)}")
        rows.append(dict(zip(names, cells)))
    return rows


def write_inventory(path: Path, recordings: List[Recording]) -> None:
    """Write recordings sorted by source_id as a TSV with a header row."""
    header = [f.name for f in fields(Recording)]
    rows = ([str(asdict(r)[name]) for name in header] for r in sorted(recordings, key=_key))
    _atomic_tsv(path, header, rows)


def read_inventory(path: Path) -> List[Recording]:
    """Inverse of :func:`write_inventory`."""
    if not path.is_file():
        raise FileNotFoundError(f"inventory {path} is missing: run the prepare stage first")
    return [
        Recording(**{**row, "is_speech": row["is_speech"] == "True",
                     "duration": float(row["duration"])})
        for row in _read_tsv(path)
    ]


def write_sources_table(path: Path, recordings: List[Recording], split_of: Dict[str, str]):
    """``sources.tsv``: source_id, package, path, label, phrase, licence, split."""
    header = ["source_id", "package", "path", "label", "phrase", "licence", "split"]
    rows = (
        [r.source_id, r.package, r.origin, r.label, r.phrase, r.licence, split_of[r.source_id]]
        for r in sorted(recordings, key=_key)
    )
    _atomic_tsv(path, header, rows)


def read_split_of(path: Path) -> Dict[str, str]:
    """source_id -> split, from ``sources.tsv``."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run the split stage first")
    return {row["source_id"]: row["split"] for row in _read_tsv(path)}


def write_skipped(path: Path, skipped: List[Tuple[str, str]]) -> None:
    """``skipped.tsv``: every source that was left out, with the reason."""
    _atomic_tsv(path, ["origin", "reason"], ([o, r] for o, r in sorted(skipped)))


def _key(recording: Recording) -> str:
    return recording.source_id
