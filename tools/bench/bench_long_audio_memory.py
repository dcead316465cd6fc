#!/usr/bin/env python3
"""Peak memory of embedding one long file at inference, by its duration.

For each duration a FLAC file is written block by block (silence by default, as in the
report of issue 24; ``--signal noise`` for low-level noise), then a fresh process loads the
model, embeds the file with ``SLAPInference.embed_audio(path)`` (30 s windows every 15 s,
read window by window) and reports its peak resident memory (``ru_maxrss``: imports, model
and embedding), its resident memory with the model loaded, and the peak while embedding
(the kernel's peak counter reset after loading). One process per file, so one file's peak
never hides another's.

The model is built from ``--config`` (default: the demo's ``conf/slap_tiny.yaml``) with
untrained weights: memory does not depend on the weights' values.

    tools/venv/bin/python tools/bench/bench_long_audio_memory.py                 # 1, 10, 60 min
    tools/venv/bin/python tools/bench/bench_long_audio_memory.py --minutes 1 120 \\
        --rate 44100 --channels 2

The last line is ``peak_mb_longest_minus_shortest=<MB>``: the difference of the peaks while
embedding (model loaded + peak above it) between the longest and the shortest file.
"""

import argparse
import gc
import json
import re
import resource
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def write_long_flac(path: Path, minutes: float, rate: int = 16000, channels: int = 1,
                    signal: str = "silence", seed: int = 0) -> Path:
    """A FLAC file of ``minutes``, written in 10 s blocks (the writer holds one block)."""
    import soundfile

    rng = np.random.default_rng(seed)
    total, block = int(minutes * 60 * rate), 10 * rate
    with soundfile.SoundFile(path, "w", rate, channels, subtype="PCM_16", format="FLAC") as out:
        for start in range(0, total, block):
            frames = min(block, total - start)
            if signal == "silence":
                out.write(np.zeros((frames, channels), dtype=np.float32))
            else:
                out.write((0.01 * rng.standard_normal((frames, channels))).astype(np.float32))
    return path


def build_exp(config_path: Path, out_dir: Path) -> Path:
    """An experiment dir (config.yaml + untrained model.pth) from a training config, with a
    character token list and unit GlobalMVN statistics; returns the directory."""
    import torch
    import yaml
    from espnet2.utils.yaml_no_alias_safe_dump import yaml_no_alias_safe_dump

    from espnet2_slap.tasks.slap import SLAPTask

    out_dir.mkdir(parents=True, exist_ok=True)
    tokens = out_dir / "tokens.txt"
    tokens.write_text("\n".join(["<blank>", "<unk>", "<space>", *string.ascii_lowercase,
                                 "<sos/eos>"]) + "\n")
    stats = out_dir / "feats_stats.npz"
    np.savez(stats, count=np.array(1.0), sum=np.zeros(64), sum_square=np.ones(64))
    config = yaml.safe_load(config_path.read_text())
    args = ["--config", str(config_path), "--token_list", str(tokens), "--token_type", "char",
            "--bpemodel", "none", "--output_dir", str(out_dir)]
    if config.get("normalize") == "global_mvn":
        args += ["--normalize_conf", f"stats_file={stats}"]
    parsed = SLAPTask.get_parser().parse_args(args)
    torch.manual_seed(0)
    model = SLAPTask.build_model(parsed)
    with (out_dir / "config.yaml").open("w") as f:
        yaml_no_alias_safe_dump(vars(parsed), f, indent=4, sort_keys=False)
    torch.save(model.state_dict(), out_dir / "model.pth")
    return out_dir


def measure(exp_dir: Path, audio: Path, timeout: float = 1800) -> dict:
    """Run the embedding in a fresh process; ``{peak_mb, model_mb, seconds}``."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(exp_dir), str(audio)],
        capture_output=True, text=True, timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"embedding {audio} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _status_mb(key: str) -> float:
    """``VmRSS`` / ``VmHWM`` of this process from /proc (Linux), in MB."""
    match = re.search(rf"^{key}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(match.group(1)) / 1024


def child(exp_dir: Path, audio: Path) -> None:
    """The measured process: load the model, embed ``audio``, print the figures as JSON.

    ``peak_mb``: the process' peak resident memory (``ru_maxrss``, model loading included);
    ``embed_peak_mb``: the peak while embedding, above the resident memory before it (the
    kernel's peak counter is reset first, ``/proc/self/clear_refs``).
    """
    import torch

    from espnet2_slap.inference import SLAPInference

    torch.set_num_threads(1)  # the same thread pools (and their buffers) for every file
    slap = SLAPInference(exp_dir / "config.yaml", exp_dir / "model.pth")
    gc.collect()
    model_mb = _status_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    start = time.perf_counter()
    embedding = slap.embed_audio(audio)
    seconds = time.perf_counter() - start
    assert embedding.shape == (1, slap.embed_dim) and np.isfinite(embedding).all()
    print(json.dumps({
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "model_mb": model_mb,
        "embed_peak_mb": _status_mb("VmHWM") - model_mb,
        "seconds": seconds,
    }))


def main(argv) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60],
                        help="durations of the files embedded")
    parser.add_argument("--config", type=Path, default=REPO / "conf" / "slap_tiny.yaml",
                        help="training config of the model")
    parser.add_argument("--rate", type=int, default=16000, help="sample rate of the files")
    parser.add_argument("--channels", type=int, default=1, help="channels of the files")
    parser.add_argument("--signal", choices=["silence", "noise"], default="silence")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        exp = build_exp(args.config, Path(tmp) / "exp")
        print(f"model: {args.config.name}, untrained; files: {args.rate} Hz, {args.channels} "
              f"channel(s), {args.signal}, FLAC")
        print("| duration | process peak RSS (MB) | RSS with the model loaded (MB) | "
              "peak while embedding, above that (MB) | embedding time (s) |")
        print("|---:|---:|---:|---:|---:|")
        peaks = []
        for minutes in args.minutes:
            audio = write_long_flac(Path(tmp) / f"{minutes:g}min.flac", minutes, args.rate,
                                    args.channels, args.signal)
            figures = measure(exp, audio)
            audio.unlink()
            peaks.append(figures["model_mb"] + figures["embed_peak_mb"])
            print(f"| {minutes:g} min | {figures['peak_mb']:.0f} | {figures['model_mb']:.0f} | "
                  f"{figures['embed_peak_mb']:.0f} | {figures['seconds']:.1f} |", flush=True)
    print(f"peak_mb_longest_minus_shortest={peaks[-1] - peaks[0]:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
