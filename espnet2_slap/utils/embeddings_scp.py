"""Embedding vectors as Kaldi ``.ark`` + ``.scp``, written whole and read from any place.

``slap_inference`` writes ``<name>.ark`` and ``<name>.scp`` (``<utt-id> <ark path>:<offset>``
lines, the ark path as the writer was given it, as Kaldi's and ESPnet's writers do). Recipe
stage 7 concatenates the jobs' scp files into the set's folder, so the ark paths hold the
experiment's path (``exp/<name>/inference_.../logdir/output.1/audio_embeds.ark``).

* :func:`write_embeddings`: both files go to temporary names and are renamed when complete;
  the old scp is removed just before, so a failure leaves the old pair, or no scp at all.
* :func:`read_embeddings`: an ark path is looked up from the scp's own folder first (the
  longest tail of the written path found under it), then as written. A renamed or moved
  experiment therefore still reads its own arks, and never those at its old place.
"""

import contextlib
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Tuple, Union

import kaldiio
import numpy as np

from espnet2_slap.utils.atomic_files import atomic_open

PathLike = Union[str, Path]


@contextlib.contextmanager
def write_embeddings(out_dir: PathLike, name: str) -> Iterator[Callable[[str, np.ndarray], None]]:
    """Yield ``write(utt_id, vector)`` that appends to ``<out_dir>/<name>.{ark,scp}``."""
    ark, scp = Path(out_dir) / f"{name}.ark", Path(out_dir) / f"{name}.scp"
    with atomic_open(scp, "w", encoding="utf-8") as scp_file:
        with atomic_open(ark, "wb") as ark_file:

            def write(utt_id: str, vector: np.ndarray) -> None:
                offset = ark_file.tell() + len(utt_id.encode("utf-8")) + 1  # after "<id> "
                kaldiio.save_ark(ark_file, {utt_id: np.asarray(vector, dtype=np.float32)})
                scp_file.write(f"{utt_id} {ark}:{offset}\n")

            yield write
            scp.unlink(missing_ok=True)  # an old scp must not point into the new ark


def read_embeddings(scp: PathLike) -> Tuple[List[str], np.ndarray]:
    """``(sorted utt ids, (N, D) float32)`` from an scp of vectors; errors name the line."""
    scp = Path(scp)
    entries: Dict[str, str] = {}
    arks: Dict[str, Path] = {}
    with scp.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            fields = line.split(maxsplit=1)
            written, sep, offset = fields[-1].strip().rpartition(":")
            if len(fields) != 2 or not sep or not offset.isdigit():
                raise ValueError(f"{scp}:{number}: expected '<utt-id> <ark>:<offset>'")
            if written not in arks:
                arks[written] = resolve_ark(written, scp.parent)
                if not arks[written].is_file():
                    raise FileNotFoundError(
                        f"{scp}:{number}: no ark {written} (neither under {scp.parent} "
                        f"nor from {Path.cwd()})"
                    )
            entries[fields[0]] = f"{arks[written]}:{offset}"
    keys = sorted(entries)
    if not keys:
        raise ValueError(f"{scp} holds no embeddings")
    return keys, np.stack([kaldiio.load_mat(entries[k]) for k in keys]).astype(np.float32)


def resolve_ark(written: str, scp_dir: Path) -> Path:
    """The ark an scp line names: the longest tail of ``written`` that is a file under
    ``scp_dir``, else ``written`` itself (relative to the working directory)."""
    parts = [part for part in Path(written).parts if part not in ("/", "..", ".")]
    for start in range(len(parts)):
        candidate = scp_dir.joinpath(*parts[start:])
        if candidate.is_file():
            return candidate
    return Path(written)
