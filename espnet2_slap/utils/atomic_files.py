"""Write result files whole or not at all: a temporary name in the same folder, then rename.

A write that fails half-way (full disk, kill) leaves the previous file untouched and no
temporary file behind.
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator, Union

PathLike = Union[str, os.PathLike]


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """Open ``path`` for writing ("w" or "wb"); the file appears only when the block ends cleanly."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', not {mode!r}")
    path = Path(path)
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _replace(Path(partial), path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """A path to give a writer that wants a file name (an archiver, a Kaldi writer, ...).

    It has ``path``'s name (so suffixes that select a format still work) inside a hidden
    folder next to ``path``; the file is renamed onto ``path`` when the block ends cleanly,
    and the folder is removed either way.
    """
    path = Path(path)
    folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        partial = folder / path.name
        yield partial
        if not partial.is_file():
            raise FileNotFoundError(f"nothing was written to {path} (no {partial})")
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        _replace(partial, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> None:
    with atomic_open(path, "w", encoding=encoding) as handle:
        handle.write(text)


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def _replace(partial: Path, path: Path) -> None:
    """Rename ``partial`` onto ``path``, keeping ``path``'s permissions (new: the umask's)."""
    if path.exists():
        os.chmod(partial, path.stat().st_mode & 0o777)
    else:
        os.chmod(partial, 0o666 & ~_umask())
    os.replace(partial, path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
