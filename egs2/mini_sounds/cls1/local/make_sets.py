#!/usr/bin/env python3
"""Tagging sets of the mini_sounds demo: one clip per source recording, labelled by its class.

    python local/make_sets.py --corpus_dir ../slap1 --out_dir data

Reads the corpus that ``egs2/mini_sounds/slap1/local/data.sh`` built: each prepared source
recording (``data/local/inventory.tsv``: ``wav``, ``label``) with its split
(``data/local/sources.tsv``), kept when its label is one of the zero-shot label set
(``data/zeroshot_test/labels``: sound-event classes heard in both train and test). Writes
``train``, ``valid`` and ``test`` (split of the source) with the class as one token
(spaces -> ``_``) in ``text`` and ``utt2label``.
"""

import argparse
import csv
from pathlib import Path

from espnet2_slap.corpora.kaldi_dir import Clip, make_utt_id, write_data_dir


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus_dir", required=True, help="the egs2/mini_sounds/slap1 recipe dir")
    parser.add_argument("--out_dir", required=True, help="data dirs are written under it")
    args = parser.parse_args(argv)
    corpus = Path(args.corpus_dir)
    labels = [line for line in (corpus / "data/zeroshot_test/labels").read_text().splitlines() if line]
    split_of = {row["source_id"]: row["split"] for row in csv.DictReader(open(corpus / "data/local/sources.tsv"), delimiter="\t")}
    sets = {"train": [], "valid": [], "test": []}
    for row in csv.DictReader(open(corpus / "data/local/inventory.tsv"), delimiter="\t"):
        split = split_of.get(row["source_id"])
        if row["label"] in labels and split in sets:
            token = row["label"].replace(" ", "_")
            sets[split].append(Clip(make_utt_id("ms", row["source_id"]), Path(row["wav"]), labels=[token]))
    classes = [label.replace(" ", "_") for label in labels]
    for name, clips in sets.items():
        count = write_data_dir(Path(args.out_dir) / name, clips, labels=classes)
        print(f"wrote {Path(args.out_dir) / name}: {count} clips, {len({c.labels[0] for c in clips})} classes")


if __name__ == "__main__":
    main()
