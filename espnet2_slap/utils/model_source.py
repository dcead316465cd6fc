"""Where a trained SLAP model comes from: one rule for every command that takes one.

A model is named by an experiment directory (``config.yaml`` and a model file), a ``.pth``
file beside its ``config.yaml``, a packed ``slap_pack`` zip, or a model-zoo tag
(``user/name``, downloaded through ``espnet_model_zoo``; needs network). Nothing here imports
model code, so recipe helpers stay light.
"""

import hashlib
import logging
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

DEFAULT_CACHE_DIR = Path.home() / ".cache" / "espnet2_slap"
# Preferred model file of an experiment directory, first found wins.
EXP_DIR_MODEL_FILES = ("valid.loss.best.pth", "valid.loss.ave.pth", "valid.acc.best.pth",
                       "model.pth", "latest.pth")


class ModelSourceError(FileNotFoundError):
    """The named model does not exist or is not a SLAP model; the message says why."""


def resolve_slap_model(source: Union[str, Path], cache_dir: Optional[Union[str, Path]] = None,
                       option: str = "--model") -> Tuple[Path, Path]:
    """``(config.yaml, weights .pth)`` of the SLAP model named by ``source``.

    ``option`` names the command-line option in error messages.

    Raises:
        ModelSourceError: a missing path, an experiment directory without config or model
            file, a ``.pth`` without ``config.yaml``, or an archive that is not a SLAP model.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    path = Path(source)
    if path.is_dir():
        config = path / "config.yaml"
        weights = next((path / m for m in EXP_DIR_MODEL_FILES if (path / m).is_file()), None)
        if not config.is_file() or weights is None:
            raise ModelSourceError(f"{option} {source}: an experiment directory needs "
                                   f"config.yaml and one of {', '.join(EXP_DIR_MODEL_FILES)}")
        return config, weights
    if path.is_file() and path.suffix == ".pth":
        if not (path.parent / "config.yaml").is_file():
            raise ModelSourceError(f"{option} {source}: no config.yaml beside it")
        return path.parent / "config.yaml", path
    if path.is_file():
        files = unpack_packed_model(path, cache_dir)
    elif "/" in str(source) and not str(source).startswith((".", "/", "~")):
        from espnet_model_zoo.downloader import ModelDownloader

        files = ModelDownloader(str(cache_dir)).download_and_unpack(str(source))
    else:
        raise ModelSourceError(f"{option} {source}: no such file or directory (nor a "
                               f"model-zoo tag user/name)")
    missing = {"slap_train_config", "slap_model_file"} - set(files)
    if missing:
        raise ModelSourceError(f"{option} {source}: not a SLAP model archive "
                               f"(missing {sorted(missing)})")
    return Path(files["slap_train_config"]), Path(files["slap_model_file"])


def unpack_packed_model(archive: Path, cache_dir: Path) -> Dict[str, str]:
    """Unpack a ``slap_pack`` archive into ``cache_dir/<content hash>``; returns its files.

    The folder is named by the archive's content, so re-packing at the same path never
    serves stale files.
    """
    from espnet2.main_funcs.pack_funcs import unpack

    digest = hashlib.sha256()
    with Path(archive).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    outdir = Path(cache_dir) / digest.hexdigest()[:16]
    logging.info(f"unpacking {archive} into {outdir}")
    return unpack(archive, outdir)
