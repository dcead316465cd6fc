"""Cross-validation splits of a data dir by its ``utt2fold`` (ESC-50's five folds).

    python -m espnet2_slap.cls.folds --data_dir data/esc50 --out_dir data

writes, for each fold ``k``, ``<out_dir>/<name>_fold<k>_train`` (every other fold) and
``<out_dir>/<name>_fold<k>_test`` (fold ``k``): each per-utterance file of the source
(``wav.scp``, ``text``, ``utt2label``, ``utt2fold``, ...) filtered to the fold's clips,
``spk2utt`` rebuilt, other files (``labels``) copied.
"""

import argparse
import shutil
from pathlib import Path
from typing import Dict, List, Optional

PER_UTTERANCE = ("wav.scp", "text", "utt2spk", "utt2dur", "utt2label", "utt2fold", "utt2num_samples", "text_refs")


def read_utt2fold(data_dir: Path) -> Dict[str, str]:
    path = data_dir / "utt2fold"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: cross-validation needs each clip's fold")
    return dict(line.split(maxsplit=1) for line in path.read_text(encoding="utf-8").split("\n") if line.strip())


def subset_data_dir(src: Path, dst: Path, keep: set) -> int:
    """Write ``dst`` with the clips of ``src`` whose id is in ``keep``; returns their number."""
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    for path in sorted(src.iterdir()):
        if not path.is_file() or path.name == "spk2utt":
            continue
        if path.name in PER_UTTERANCE or path.name.startswith("utt2"):
            lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.split(maxsplit=1)[0:1] and line.split(maxsplit=1)[0] in keep]
            (dst / path.name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        else:
            shutil.copy(path, dst / path.name)
    if (dst / "utt2spk").is_file():
        spk2utt: Dict[str, List[str]] = {}
        for line in (dst / "utt2spk").read_text(encoding="utf-8").splitlines():
            utt, spk = line.split()
            spk2utt.setdefault(spk, []).append(utt)
        (dst / "spk2utt").write_text("".join(f"{s} {' '.join(u)}\n" for s, u in sorted(spk2utt.items())), encoding="utf-8")
    return sum(1 for _ in open(dst / "wav.scp", encoding="utf-8"))


def split_folds(data_dir: str, out_dir: str, name: Optional[str] = None) -> Dict[str, int]:
    """One train/test pair per fold; returns clips per written set."""
    src = Path(data_dir)
    utt2fold = read_utt2fold(src)
    name = name or src.name
    counts = {}
    for fold in sorted(set(utt2fold.values()), key=lambda f: (len(f), f)):
        test = {u for u, f in utt2fold.items() if f == fold}
        for part, keep in (("train", set(utt2fold) - test), ("test", test)):
            set_name = f"{name}_fold{fold}_{part}"
            counts[set_name] = subset_data_dir(src, Path(out_dir) / set_name, keep)
    return counts


def main(argv=None) -> Dict[str, int]:
    parser = argparse.ArgumentParser(description="Cross-validation data dirs from utt2fold")
    parser.add_argument("--data_dir", required=True, help="source data dir with utt2fold")
    parser.add_argument("--out_dir", required=True, help="the fold data dirs are written under it")
    parser.add_argument("--name", default=None, help="prefix of the written sets (default: the source dir name)")
    args = parser.parse_args(argv)
    counts = split_folds(args.data_dir, args.out_dir, args.name)
    for set_name, count in counts.items():
        print(f"wrote {Path(args.out_dir) / set_name}: {count} clips")
    return counts


if __name__ == "__main__":
    main()
