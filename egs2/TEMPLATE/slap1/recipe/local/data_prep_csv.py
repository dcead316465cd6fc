#!/usr/bin/env python3
"""data/<split>/ from a CSV caption corpus: ``<root>/captions.csv`` and ``<root>/audio/``.

    python local/data_prep_csv.py --root /data/mycorpus --out_dir data

``captions.csv`` has the columns ``file_name,split,caption``, one row per caption. Each clip
becomes one utterance whose captions are all kept: ``text`` holds the first, ``text_refs``
one line per caption (several-caption retrieval), ``utt2captions`` the JSON list that
training draws one caption from each time the clip is loaded.
"""

import argparse
import csv
import sys
from pathlib import Path
from typing import Dict, List, Tuple

from espnet2_slap.corpora.caption_sets import caption_clip
from espnet2_slap.corpora.kaldi_dir import make_utt_id, write_data_dir


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, required=True, help="folder with captions.csv and audio/")
    parser.add_argument("--out_dir", type=Path, required=True, help="data/<split>/ are written here")
    args = parser.parse_args()

    captions: Dict[Tuple[str, str], List[str]] = {}
    with open(args.root / "captions.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            captions.setdefault((row["split"], row["file_name"]), []).append(row["caption"])
    by_split: Dict[str, list] = {}
    for (split, name), texts in captions.items():
        path = args.root / "audio" / name
        if not path.is_file():
            print(f"data_prep_csv.py: error: captions.csv names {name}, but {path} is missing",
                  file=sys.stderr)
            return 1
        clip = caption_clip(make_utt_id("mycorpus", Path(name).stem), path, texts)
        if clip is not None:
            by_split.setdefault(split, []).append(clip)
    for split, clips in sorted(by_split.items()):
        count = write_data_dir(args.out_dir / split, clips, refs=True)
        print(f"data_prep_csv.py: {args.out_dir / split}: {count} clips")
    return 0


if __name__ == "__main__":
    sys.exit(main())
