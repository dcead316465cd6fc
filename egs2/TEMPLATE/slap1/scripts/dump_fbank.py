#!/usr/bin/env python3
"""Dump the log-mel features of a data dir once (``slap.sh --feats_type fbank``).

    python scripts/dump_fbank.py --config conf/train.yaml --data_dir dump/raw/train \\
        --out_dir dump/fbank/train [--frontend_conf fs=16000]

Each clip is read as training reads it (ESPnet's sound reader, down-mixed to mono) and framed
on its own samples by the config's frontend, as ``ESPnetSLAPModel`` does on the fly, so
training from the dump sees the same features (SpecAugment and normalisation still run in the
model, per clip). Writes ``feats.ark`` + ``feats.scp`` (Kaldi, float32, ``(frames, bins)``) and
``feats_shape``, and copies the data dir's other files. The folder appears complete or not at
all; ``.frontend_conf`` records the frontend it was made with, so a re-run with the same
config and audio does nothing.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import List, Optional, Sequence

import kaldiio
import torch
import yaml

from espnet2_slap.audio.features import per_clip_frontend
from espnet2_slap.data.preprocessor import mono_waveform
from espnet2_slap.tasks.slap import frontend_choices


def build_frontend(config: Path, overrides: List[str]) -> torch.nn.Module:
    conf = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    if conf.get("frontend") in (None, "none"):
        raise SystemExit(f"error: {config}: frontend is null; --feats_type fbank needs the "
                         "frontend that computes the features")
    frontend_conf = dict(conf.get("frontend_conf") or {})
    for item in overrides:
        key, _, value = item.partition("=")
        frontend_conf[key] = yaml.safe_load(value)
    return frontend_choices.get_class(conf["frontend"])(**frontend_conf), {
        "frontend": conf["frontend"], "frontend_conf": frontend_conf}


def dump(data_dir: Path, out_dir: Path, frontend: torch.nn.Module, stamp: str) -> int:
    from espnet2.fileio.sound_scp import SoundScpReader

    partial = out_dir.with_name(out_dir.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    for path in data_dir.iterdir():
        if path.is_file():
            shutil.copy2(path, partial / path.name)
    reader = SoundScpReader(str(data_dir / "wav.scp"), multi_columns=True)
    shapes = []
    frontend.eval()
    with kaldiio.WriteHelper(f"ark,scp:{partial / 'feats.ark'},{partial / 'feats.scp'}") as out:
        for utt in reader.keys():
            _, wave = reader[utt]
            wave = torch.from_numpy(mono_waveform(wave, utt))[None]  # (1, T_wav)
            with torch.no_grad():
                feats, lengths = per_clip_frontend(frontend, wave, torch.tensor([wave.size(1)]))
            matrix = feats[0, : int(lengths[0])].float().numpy()  # (frames, bins)
            out(utt, matrix)
            shapes.append(f"{utt} {matrix.shape[0]},{matrix.shape[1]}")
    # feats.scp names the ark where it will be once the folder has its final name.
    scp = partial / "feats.scp"
    scp.write_text(scp.read_text().replace(str(partial) + "/", str(out_dir) + "/"))
    (partial / "feats_shape").write_text("\n".join(shapes) + "\n")
    (partial / ".frontend_conf").write_text(stamp)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    partial.rename(out_dir)
    return len(shapes)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="training config (frontend)")
    parser.add_argument("--frontend_conf", action="append", default=[], metavar="KEY=VALUE",
                        help="override a frontend_conf entry, e.g. fs=16000")
    parser.add_argument("--data_dir", type=Path, required=True, help="a formatted data dir")
    parser.add_argument("--out_dir", type=Path, required=True, help="the feature dump to write")
    args = parser.parse_args(argv)
    if not (args.data_dir / "wav.scp").is_file():
        raise SystemExit(f"error: {args.data_dir}/wav.scp is missing")
    frontend, described = build_frontend(args.config, args.frontend_conf)
    wav_scp = args.data_dir / "wav.scp"
    stamp = json.dumps({**described, "wav.scp": wav_scp.read_text(encoding="utf-8")},
                       sort_keys=True)
    done = args.out_dir / ".frontend_conf"
    if done.is_file() and done.read_text() == stamp:
        print(f"dump_fbank.py: {args.out_dir} is up to date")
        return 0
    count = dump(args.data_dir, args.out_dir, frontend, stamp)
    print(f"dump_fbank.py: {count} clips -> {args.out_dir}/feats.scp")
    return 0


if __name__ == "__main__":
    sys.exit(main())
