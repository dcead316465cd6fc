#!/usr/bin/env python3
"""Packing and local attention, measured side by side in one run.

1. Training-step throughput of the SLAP audio encoder (+ MAP pooling + InfoNCE against fixed
   text embeddings, forward + backward + AdamW step) on the SAME random batches of 1-30 s
   clips: packed (varlen) vs padded, and padded with length-sorted batches (ESPnet's usual
   way to cut padding, at the price of non-random batches). Also the fraction of padded
   (wasted) tokens of each batching.
2. Encoder forward time and peak memory of one clip from 5 s to 120 s, all-global layers vs
   the paper's 2 local : 1 global.

    python tools/bench/bench_packing.py            # the numbers in docs/benchmarks.md
    python tools/bench/bench_packing.py --quick    # < 1 min on 2 CPU cores

The last line is ``packed_vs_padded_speedup=<ratio>``. On a CUDA machine the same script
uses the GPU (``--device cuda``) and reports GPU peak memory.
"""

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Dict, List, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from espnet2_slap.audio.padded_baseline import PaddedBaselineEncoder
from espnet2_slap.audio.slap_encoder import SLAPAudioEncoder
from espnet2_slap.layers.attention_pooling import AttentionPooling
from espnet2_slap.losses.infonce import InfoNCELoss

FRAMES_PER_SECOND = 100  # 10 ms hop
N_MELS = 64


def encoder_conf(args, pattern: Sequence[str]) -> Dict:
    return dict(
        input_size=N_MELS,
        output_size=args.width,
        num_layers=args.layers,
        num_heads=args.heads,
        mlp_hidden_size=4 * args.width,
        attention_pattern=list(pattern),
        window_time_steps=24,
        attention_backend=args.backend,
    )


def tokens_of(seconds: float) -> int:
    return math.ceil((seconds * FRAMES_PER_SECOND) / 16) * (N_MELS // 16)


def draw_batches(rng, num_batches: int, clips: int, min_s: float, max_s: float) -> List[np.ndarray]:
    """Random batches: each a uniform draw of clip durations (seconds)."""
    return [rng.uniform(min_s, max_s, clips) for _ in range(num_batches)]


def length_sorted(batches: List[np.ndarray]) -> List[np.ndarray]:
    """The same clips regrouped after sorting by duration (ESPnet's sorted batching)."""
    clips = np.sort(np.concatenate(batches))
    return list(clips.reshape(len(batches), -1))


def padding_waste(batches: List[np.ndarray]) -> float:
    """Fraction of padded tokens when each batch is padded to its longest clip."""
    real = sum(sum(tokens_of(d) for d in b) for b in batches)
    padded = sum(len(b) * max(tokens_of(d) for d in b) for b in batches)
    return 1 - real / padded


class AudioTower(torch.nn.Module):
    """Encoder + MAP pooling + InfoNCE against fixed text embeddings: the audio half of a step."""

    def __init__(self, conf: Dict, embed_dim: int = 256, packed: bool = True):
        super().__init__()
        self.encoder = (SLAPAudioEncoder if packed else PaddedBaselineEncoder)(**conf)
        self.pooling = AttentionPooling(conf["output_size"], embed_dim, num_heads=4)
        self.loss = InfoNCELoss()

    def forward(self, feats, lengths, text):
        tokens = self.encoder(feats, lengths)
        padded, valid = tokens.to_padded()
        audio = F.normalize(self.pooling(padded, valid), dim=-1)
        return self.loss(audio, text)[0]


def time_training(args, batches, packed: bool, device, amp: bool = False) -> Dict:
    """Train on ``batches`` (one warm-up step first); ``amp``: under bf16 autocast."""
    torch.manual_seed(0)
    tower = AudioTower(encoder_conf(args, ["local", "local", "global"]), packed=packed).to(device)
    optimizer = torch.optim.AdamW(tower.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(1)
    inputs = []
    for durations in batches:
        lengths = torch.tensor([int(d * FRAMES_PER_SECOND) for d in durations])
        feats = torch.randn(len(durations), int(lengths.max()), N_MELS, generator=gen)
        text = F.normalize(torch.randn(len(durations), 256, generator=gen), dim=-1)
        inputs.append((feats.to(device), lengths.to(device), text.to(device)))

    def step(feats, lengths, text):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = tower(feats, lengths, text)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step(*inputs[0])  # warm-up
    sync(device)
    start = time.perf_counter()
    for batch in inputs:
        step(*batch)
    sync(device)
    seconds = time.perf_counter() - start
    audio = sum(float(b.sum()) for b in batches)
    return dict(seconds=seconds, seconds_per_step=seconds / len(inputs),
                audio_seconds_per_second=audio / seconds)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure_forward(args, pattern: str, seconds: float, device) -> Dict:
    """Forward time and peak memory for one clip, in a fresh process (CPU peak RSS is per process)."""
    cmd = [sys.executable, __file__, "--_forward_probe", json.dumps(
        dict(pattern=pattern, seconds=seconds, width=args.width, layers=args.layers,
             heads=args.heads, backend=args.backend, device=str(device), repeats=args.repeats)
    )]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def forward_probe(spec: Dict) -> None:
    """Child process: build the encoder, time ``repeats`` forwards, then measure the peak
    memory one forward allocates on top of what exists before it (CUDA: the allocator's
    peak; CPU: the allocator timeline of the PyTorch profiler)."""
    device = torch.device(spec["device"])
    pattern = ["global"] if spec["pattern"] == "global" else ["local", "local", "global"]
    args = argparse.Namespace(**{k: spec[k] for k in ("width", "layers", "heads", "backend")})
    encoder = SLAPAudioEncoder(**encoder_conf(args, pattern)).to(device).eval()
    frames = int(spec["seconds"] * FRAMES_PER_SECOND)
    feats = torch.randn(1, frames, N_MELS, device=device)
    lengths = torch.tensor([frames], device=device)
    with torch.no_grad():
        encoder(feats, lengths)  # warm-up
        times = []
        for _ in range(spec["repeats"]):
            sync(device)
            start = time.perf_counter()
            encoder(feats, lengths)
            sync(device)
            times.append(time.perf_counter() - start)
        peak_mb = forward_peak_memory_mb(encoder, feats, lengths, device)
    print(json.dumps(dict(seconds=statistics.median(times), peak_mb=peak_mb)))


def forward_peak_memory_mb(encoder, feats, lengths, device) -> float:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        encoder(feats, lengths)
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # export_memory_timeline is deprecated for CUDA users
        with torch.profiler.profile(profile_memory=True, record_shapes=True, with_stack=True) as prof:
            encoder(feats, lengths)
        prof.export_memory_timeline(f"{tmp}/timeline.json", device="cpu")
        with open(f"{tmp}/timeline.json") as f:
            _, sizes = json.load(f)
    totals = [sum(sample) for sample in sizes]
    return (max(totals) - totals[0]) / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, < 1 min on 2 CPU cores")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--amp", action="store_true", help="training steps under bf16 autocast")
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--heads", type=int, default=6)
    parser.add_argument("--clips", type=int, default=16, help="clips per batch")
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--durations", type=float, nargs="+", default=[5, 10, 20, 30, 60, 120])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--_forward_probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._forward_probe:
        forward_probe(json.loads(args._forward_probe))
        return
    if args.quick:
        args.width, args.layers, args.heads = 128, 3, 4
        args.clips, args.batches, args.repeats = 8, 3, 2
        args.durations = [5, 30, 120]
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    print(f"# device={device} backend={args.backend} width={args.width} layers={args.layers} "
          f"heads={args.heads} clips/batch={args.clips} batches={args.batches} "
          f"amp={'bf16' if args.amp else 'off'} torch={torch.__version__}")

    rng = np.random.default_rng(args.seed)
    random_batches = draw_batches(rng, args.batches, args.clips, 1.0, 30.0)
    sorted_batches = length_sorted(random_batches)
    print("\n## Training step, the same 1-30 s clips (audio seconds processed per second)")
    print(f"{'batching':<28}{'wasted tokens':>15}{'time (s)':>10}{'audio s/s':>12}")
    rows = {}
    for name, batches, packed in [
        ("packed, random batches", random_batches, True),
        ("padded, random batches", random_batches, False),
        ("padded, length-sorted", sorted_batches, False),
    ]:
        waste = 0.0 if packed else padding_waste(batches)
        result = time_training(args, batches, packed, device, amp=args.amp)
        rows[name] = result
        print(f"{name:<28}{waste:>14.1%}{result['seconds']:>10.2f}{result['audio_seconds_per_second']:>12.1f}")
    packed_rate = rows["packed, random batches"]["audio_seconds_per_second"]
    speedup = packed_rate / rows["padded, random batches"]["audio_seconds_per_second"]
    speedup_sorted = packed_rate / rows["padded, length-sorted"]["audio_seconds_per_second"]
    print(f"packed / padded (random batches): {speedup:.2f}x")
    print(f"packed / padded (length-sorted):  {speedup_sorted:.2f}x")

    print("\n## Encoder forward, one clip (median time, peak memory)")
    print(f"{'duration':>9}{'global (s)':>12}{'2:1 local (s)':>15}{'ratio':>8}{'global MB':>11}{'2:1 local MB':>14}")
    for seconds in args.durations:
        full = measure_forward(args, "global", seconds, device)
        mixed = measure_forward(args, "local", seconds, device)
        print(f"{seconds:>8.0f}s{full['seconds']:>12.3f}{mixed['seconds']:>15.3f}"
              f"{full['seconds'] / mixed['seconds']:>8.2f}{full['peak_mb']:>11.0f}{mixed['peak_mb']:>14.0f}")
    print(f"packed_vs_padded_speedup={speedup:.2f}")


if __name__ == "__main__":
    main()
