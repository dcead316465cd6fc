"""What a prepared data directory was made from, and whether that changed since.

A corpus CLI (every one runs through :func:`espnet2_slap.corpora.caption_sets.run_cli`)
records, while it prepares, the files it reads (metadata, audio headers: :func:`note_file`)
and the folders it searches for audio (:func:`note_folder`, also for folders that do not
exist). When it is done it writes ``prepared_from.json`` into each data dir it wrote::

    {"module": "espnet2_slap.corpora.clotho", "argv": ["--root", ...], "cwd": "/recipe",
     "sets": ["clotho_evaluation"], "digest": "<sha256 of folders>",
     "folders": {"/data/clotho/evaluation": {"files": 1045, "stats": "<sha256>"},
                 "/data/clotho/clotho_audio_files/evaluation": null, ...}}

A folder's entry is its signature: the number of files in it and a hash of every file's
name, size and modification time (entries starting with ``.`` are left out; sub-folders count
by name only); ``null`` is a folder that did not exist. Adding a clip that was missing,
replacing or editing a file, or a searched folder appearing is a change; :func:`changes`
names them, :func:`prepare_again` re-runs the recorded command. ``digest`` keys caches of
what was computed from the set (the benchmarks recipe's embeddings).

    python -m espnet2_slap.corpora.sources check data/clotho [...]   # exit 1: changed
"""

import argparse
import contextlib
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

from espnet2_slap.utils.atomic_files import atomic_write_text

MANIFEST = "prepared_from.json"


class Recorder:
    """The files read and folders searched by one preparation."""

    def __init__(self):
        self.folders: Set[str] = set()

    def file(self, path) -> None:
        self.folders.add(os.path.dirname(os.path.abspath(path)))

    def folder(self, path) -> None:
        self.folders.add(os.path.abspath(path))


_recorder: Optional[Recorder] = None


def note_file(path) -> None:
    """Record that the running preparation read ``path`` (its folder is watched)."""
    if _recorder is not None:
        _recorder.file(path)


def note_folder(path) -> None:
    """Record that the running preparation searched ``path`` (present or not)."""
    if _recorder is not None:
        _recorder.folder(path)


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    """Record what the code inside the block reads (not re-entrant: the outer one wins)."""
    global _recorder
    if _recorder is not None:
        yield _recorder
        return
    _recorder = Recorder()
    try:
        yield _recorder
    finally:
        _recorder = None


def folder_signature(folder: str) -> Optional[dict]:
    """``{"files": n, "stats": sha256}`` of a folder's entries, None when it is no folder."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:  # absent, not a folder, not readable
        return None
    digest, files = hashlib.sha256(), 0
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir():
                digest.update(f"{entry.name}/\n".encode("utf-8", "surrogateescape"))
                continue
            stat = entry.stat()
        except OSError:  # a dangling link: counts by name
            digest.update(f"{entry.name} ?\n".encode("utf-8", "surrogateescape"))
            files += 1
            continue
        files += 1
        digest.update(f"{entry.name} {stat.st_size} {stat.st_mtime_ns}\n"
                      .encode("utf-8", "surrogateescape"))
    return {"files": files, "stats": digest.hexdigest()}


def snapshot(folders: Iterable[str]) -> Dict[str, Optional[dict]]:
    """The signature of each folder (see :func:`folder_signature`), sorted by path."""
    return {folder: folder_signature(folder) for folder in sorted(set(folders))}


def digest_of(signatures: Dict[str, Optional[dict]]) -> str:
    return hashlib.sha256(json.dumps(signatures, sort_keys=True).encode()).hexdigest()


def write_manifests(out_dir, sets: Iterable[str], recorder: Recorder, module: str,
                    argv: List[str]) -> None:
    """Write ``<out_dir>/<set>/prepared_from.json`` for each of ``sets`` (atomically)."""
    sets = list(sets)
    signatures = snapshot(recorder.folders)
    manifest = {"module": module, "argv": list(argv), "cwd": os.getcwd(), "sets": sets,
                "digest": digest_of(signatures), "folders": signatures}
    text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    for name in sets:
        if (Path(out_dir) / name).is_dir():
            atomic_write_text(Path(out_dir) / name / MANIFEST, text)


def read_manifest(set_dir) -> Optional[dict]:
    """The manifest of a data dir, None when it has none (or an unreadable one)."""
    path = Path(set_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and "folders" in manifest else None


def recorded_digest(set_dir) -> Optional[str]:
    """The ``digest`` a data dir was prepared with (None: no manifest)."""
    manifest = read_manifest(set_dir)
    return manifest.get("digest") if manifest else None


def _describe(folder: str, before: Optional[dict], now: Optional[dict]) -> str:
    if before is None:
        return f"{folder} appeared"
    if now is None:
        return f"{folder} is gone"
    if before["files"] != now["files"]:
        return f"{folder}: {before['files']} -> {now['files']} files"
    return f"{folder}: a file was replaced or modified ({now['files']} files)"


def changes(set_dir) -> Optional[List[str]]:
    """What changed since ``set_dir`` was prepared: one line per folder ([] when nothing);
    None when the set has no manifest (prepared before sources were recorded)."""
    manifest = read_manifest(set_dir)
    if manifest is None:
        return None
    recorded = manifest["folders"]
    now = snapshot(recorded)
    return [_describe(folder, recorded[folder], now[folder])
            for folder in sorted(recorded) if recorded[folder] != now[folder]]


def prepare_again(set_dir, log_path=None) -> Tuple[bool, str]:
    """Re-run the preparation recorded in ``set_dir``: ``(succeeded, its stderr)``.

    ``log_path`` receives its stderr (like ``local/data.sh``'s ``prepare.log``).
    """
    manifest = read_manifest(set_dir)
    if manifest is None or not manifest.get("module"):
        return False, f"error: {set_dir}: no {MANIFEST} saying how it was prepared\n"
    try:
        done = subprocess.run([sys.executable, "-m", manifest["module"], *manifest["argv"]],
                              cwd=manifest.get("cwd") or None, capture_output=True, text=True)
    except OSError as err:  # e.g. the folder it was prepared from is gone
        return False, f"error: cannot prepare {set_dir} again: {err}\n"
    if log_path is not None:
        atomic_write_text(log_path, done.stderr)
    return done.returncode == 0, done.stderr


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Has the data a prepared set was made from "
                                     "changed? (exit 0: no, 1: yes, 2: not recorded)")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="compare data dirs with what they were made from")
    check.add_argument("dirs", nargs="+", help="data dirs, or folders holding data dirs")
    args = parser.parse_args(argv)
    status = 0
    for given in map(Path, args.dirs):
        sets = [given] if (given / "wav.scp").is_file() else sorted(
            p for p in given.iterdir() if (p / "wav.scp").is_file()) if given.is_dir() else []
        if not sets:
            print(f"{given}: no data dir", file=sys.stderr)
            status = max(status, 2)
        for set_dir in sets:
            found = changes(set_dir)
            if found is None:
                print(f"{set_dir}: no record of what it was prepared from")
                status = max(status, 2)
            elif found:
                print(f"{set_dir}: changed since it was prepared: {'; '.join(found)}")
                status = max(status, 1)
            else:
                print(f"{set_dir}: unchanged")
    return status


if __name__ == "__main__":
    sys.exit(main())
