#!/usr/bin/env python3
"""Training-step throughput and model FLOP utilisation (MFU) of the paper-size audio encoder.

The encoder of ``conf/slap_paper.yaml`` (ViT, width 768, 12 layers, 12 heads, SwiGLU 3072,
2 local (24 time steps) : 1 global) on packed batches of random 1-30 s clips filling a
token budget (the paper's per-GPU budget, 32768 patch tokens), under bf16 autocast
(``--use_amp`` in training), optionally with activation checkpointing and ``torch.compile``;
one step = forward + backward + AdamW step. Reported: clips/s, patch tokens/s, audio hours
per hour, peak memory (CUDA), model TFLOP/s and MFU.

Model FLOPs per step (forward x 3 for forward + backward, recomputation not counted):
``2 * N_tokens * P_linear`` for the linear layers plus, per attention layer, ``4 * d * S``
score/value FLOPs, with ``S`` the number of (query, key) pairs the layer attends (a global
layer: sum over clips of L^2; a local one: each token's window, <= 2 * 48 + 1 keys).

MFU is given against the bf16 matmul peak measured in the same process (``8192^3`` bf16
products on CUDA, ``--peak_size`` to change) and against the data-sheet dense bf16 peak
looked up from the GPU name (H100/H200 989, A100 312, L40S 362, A10 125, L4 121 TFLOP/s;
``--peak_tflops`` to set it).

    python tools/bench/bench_encoder_step.py                        # CUDA, paper size
    python tools/bench/bench_encoder_step.py --activation_checkpointing
    python tools/bench/bench_encoder_step.py --device cpu --quick   # code path check on CPU
    # eager vs torch.compile, side by side on the same packs, and the compile count:
    python tools/bench/bench_encoder_step.py --device cpu --size small --compile

With ``--compile`` the eager and the compiled encoder (same weights) run the same packs,
alternating step by step so that a shared machine's load hits both alike; the compiled one
then runs ``--count_packs`` more random packs (random budgets, so every pack has a new
length) and the number of graphs compiled is printed after the first pack and after the last.
The last lines are ``compile_speedup=<eager time / compiled time>`` and
``compile_count=<graphs>``; without ``--compile`` the last line is
``encoder_step_mfu=<fraction>`` (``nan`` without a peak).
"""

import argparse
import math
import statistics
import time
from typing import Dict, List, Optional

import numpy as np
import torch

from espnet2_slap.audio.slap_encoder import SLAPAudioEncoder

PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0,
                    "L4": 121.0}
FRAMES_PER_SECOND, N_MELS, PATCH = 100, 64, 16
PAPER_TOKEN_BUDGET = 32768  # conf/slap_paper.yaml: batch_tokens per GPU
SIZES = {
    "paper": dict(output_size=768, num_layers=12, num_heads=12, mlp_hidden_size=3072),
    "small": dict(output_size=384, num_layers=6, num_heads=6, mlp_hidden_size=1536),
    "demo": dict(output_size=128, num_layers=6, num_heads=4, mlp_hidden_size=384),  # slap_tiny
    "tiny": dict(output_size=64, num_layers=3, num_heads=4, mlp_hidden_size=128),
}
DEFAULT_BUDGET = {"paper": PAPER_TOKEN_BUDGET, "small": 4096, "demo": 6144, "tiny": 2048}


def datasheet_peak_tflops(device: torch.device, override=None) -> Optional[float]:
    if override is not None:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, value in PEAK_BF16_TFLOPS.items():
        if key in name:
            return value
    return None


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measured_matmul_tflops(device: torch.device, size: int = 8192, repeats: int = 20) -> float:
    """Dense bf16 matmul throughput of ``device``: ``size^3`` products, best of ``repeats``
    timed after warm-up (what a well-shaped GEMM really reaches here)."""
    a = torch.randn(size, size, device=device, dtype=torch.bfloat16)
    b = torch.randn(size, size, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e12


def draw_batch(rng, token_budget: int, freq_patches: int) -> List[int]:
    """Frame counts of random 1-30 s clips whose patch tokens fill ``token_budget``."""
    frames, tokens = [], 0
    while True:
        n = int(rng.uniform(1.0, 30.0) * FRAMES_PER_SECOND)
        t = math.ceil(n / PATCH) * freq_patches
        if tokens + t > token_budget and frames:
            return frames
        frames.append(n)
        tokens += t


def step_flops(encoder: SLAPAudioEncoder, frames, window_radius: int) -> float:
    freq = encoder.freq_patches
    lengths = [math.ceil(n / PATCH) * freq for n in frames]
    tokens = sum(lengths)
    linear = sum(p.numel() for n, p in encoder.named_parameters() if p.dim() == 2)
    width = encoder.output_size()
    pairs = 0
    for kind in encoder.layer_kinds:
        if kind == "global":
            pairs += sum(L * L for L in lengths)
        else:
            pairs += sum(
                sum(min(L, i + window_radius + 1) - max(0, i - window_radius) for i in range(L))
                for L in lengths
            )
    forward = 2 * tokens * linear + 4 * width * pairs
    return 3.0 * forward


def compile_count() -> int:
    """Graphs compiled so far in this process (``torch._dynamo`` counters)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


class Variant:
    """One encoder set-up (eager, checkpointed, compiled) with its optimizer and timings."""

    def __init__(self, name: str, encoder: SLAPAudioEncoder, device: torch.device, amp: bool):
        self.name, self.encoder, self.device, self.amp = name, encoder, device, amp
        self.optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-4)
        self.times: List[float] = []
        self.first_steps_seconds = 0.0
        self.counts: List[int] = []  # compile count after each step

    def step(self, frames: List[int], seed: int) -> float:
        gen = torch.Generator().manual_seed(seed)  # the same features for every variant
        feats = torch.randn(len(frames), max(frames), N_MELS, generator=gen).to(self.device)
        lengths = torch.tensor(frames, device=self.device)
        sync(self.device)
        start = time.perf_counter()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            out = self.encoder(feats, lengths)
            loss = out.values.float().square().mean()
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        sync(self.device)
        seconds = time.perf_counter() - start
        self.counts.append(compile_count())
        return seconds


def build_encoder(conf: Dict, device, backend="auto", activation_checkpointing=False,
                  compile=False, seed=0, **overrides) -> SLAPAudioEncoder:
    torch.manual_seed(seed)
    return SLAPAudioEncoder(
        input_size=N_MELS, attention_backend=backend,
        activation_checkpointing=activation_checkpointing, compile=compile,
        **{**conf, **overrides},
    ).to(device)


def run_variants(variants: List[Variant], batches: List[List[int]], warmup: int,
                 interleave: bool) -> None:
    """Warm-up steps (untimed, they hold the compilation), then the timed steps. Interleaved:
    step i of every variant before step i + 1 of any (fair under a varying machine load);
    otherwise one variant after the other (each with its own CUDA peak memory)."""
    def one(variant, i, frames):
        seconds = variant.step(frames, seed=i)
        if i < warmup:
            variant.first_steps_seconds += seconds
        else:
            variant.times.append(seconds)

    if interleave:
        for i, frames in enumerate(batches):
            for variant in variants:
                one(variant, i, frames)
    else:
        for variant in variants:
            if variant.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(variant.device)
            for i, frames in enumerate(batches):
                one(variant, i, frames)
            if variant.device.type == "cuda":
                variant.peak_memory_gib = torch.cuda.max_memory_allocated(variant.device) / 2**30


def summarise(variant: Variant, timed: List[List[int]], peak: Optional[float]) -> Dict:
    encoder = variant.encoder
    seconds = sum(variant.times)
    tokens = sum(math.ceil(n / PATCH) * encoder.freq_patches for f in timed for n in f)
    flops = sum(step_flops(encoder, f, encoder.window_radius) for f in timed)
    achieved = flops / seconds / 1e12
    return dict(
        seconds=seconds,
        seconds_per_step=statistics.median(variant.times),
        steps_per_s=len(timed) / seconds,
        clips_per_s=sum(len(f) for f in timed) / seconds,
        tokens_per_s=tokens / seconds,
        audio_hours_per_hour=sum(n for f in timed for n in f) / FRAMES_PER_SECOND / seconds,
        clips_per_step=float(np.mean([len(f) for f in timed])),
        tflops=achieved,
        mfu=achieved / peak if peak else float("nan"),
        peak_memory_gib=getattr(variant, "peak_memory_gib", float("nan")),
        first_steps_seconds=variant.first_steps_seconds,
    )


def random_packs(rng, count: int, token_budget: int, freq_patches: int) -> List[List[int]]:
    """``count`` packs of random 1-30 s clips, each filling a random budget in
    ``[token_budget / 2, token_budget]``: every pack has a new total length and number of clips
    (at least two once the budget holds two 30 s clips)."""
    return [draw_batch(rng, int(rng.uniform(token_budget / 2, token_budget)), freq_patches)
            for _ in range(count)]


def count_compilations(variant: Variant, packs: List[List[int]]) -> List[int]:
    """Train ``variant`` on ``packs`` as well; the compile count after each of all its packs."""
    for i, frames in enumerate(packs):
        variant.step(frames, seed=10_000 + i)
    return variant.counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="torch device")
    parser.add_argument("--backend", default="auto", help="attention backend")
    parser.add_argument("--size", choices=sorted(SIZES), default="paper",
                        help="encoder size: paper (conf/slap_paper.yaml), small (width 384, 6 "
                             "layers), demo (conf/slap_tiny.yaml's encoder), tiny")
    parser.add_argument("--quick", action="store_true",
                        help="the tiny encoder, a small budget and 2 steps (code path check)")
    parser.add_argument("--token_budget", type=int, default=None,
                        help="patch tokens per packed batch (default: 32768 for the paper size "
                             "(per GPU), 4096 small, 6144 demo (conf/slap_tiny.yaml), 2048 tiny)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--activation_checkpointing", action="store_true",
                        help="recompute each block in the backward pass")
    parser.add_argument("--compile", action="store_true",
                        help="eager vs torch.compile side by side, and the compile count")
    parser.add_argument("--count_packs", type=int, default=50,
                        help="with --compile: random packs over which compilations are counted")
    parser.add_argument("--no_amp", action="store_true", help="float32 instead of bf16 autocast")
    parser.add_argument("--peak_tflops", type=float, default=None,
                        help="data-sheet dense bf16 peak (default: from the GPU name)")
    parser.add_argument("--peak_size", type=int, default=None,
                        help="side of the measured bf16 matmul (default 8192 on CUDA; "
                             "no measurement on CPU unless given)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args()

    device = torch.device(args.device)
    if args.quick:
        args.size, args.steps, args.warmup = "tiny", 2, 1
        args.count_packs = min(args.count_packs, 10)
    conf = SIZES[args.size]
    budget = args.token_budget or DEFAULT_BUDGET[args.size]
    amp = not args.no_amp
    peak_size = args.peak_size or (8192 if device.type == "cuda" else None)
    measured_peak = measured_matmul_tflops(device, peak_size) if peak_size else None
    sheet_peak = datasheet_peak_tflops(device, args.peak_tflops)

    names = ["eager", "compiled"] if args.compile else ["eager"]
    variants = [
        Variant(name, build_encoder(conf, device, args.backend, args.activation_checkpointing,
                                    compile=(name == "compiled"), seed=args.seed), device, amp)
        for name in names
    ]
    rng = np.random.default_rng(args.seed)
    freq = variants[0].encoder.freq_patches
    batches = [draw_batch(rng, budget, freq) for _ in range(args.warmup + args.steps)]
    run_variants(variants, batches, args.warmup, interleave=args.compile)
    timed = batches[args.warmup:]

    params = sum(p.numel() for p in variants[0].encoder.parameters())
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"# device={name} backend={args.backend} size={args.size} params={params / 1e6:.1f}M "
          f"token_budget={budget} amp={'bf16' if amp else 'off'} "
          f"activation_checkpointing={args.activation_checkpointing} threads="
          f"{torch.get_num_threads()} torch={torch.__version__}")
    if measured_peak:
        print(f"measured_bf16_matmul_TFLOPs={measured_peak:.1f} ({peak_size}^3) "
              f"datasheet_bf16_TFLOPs={sheet_peak}")
    results = {}
    for variant in variants:
        r = results[variant.name] = summarise(variant, timed, measured_peak or sheet_peak)
        print(f"[{variant.name}] steps/s={r['steps_per_s']:.3f} clips/s={r['clips_per_s']:.1f} "
              f"tokens/s={r['tokens_per_s']:.0f} audio_hours_per_hour={r['audio_hours_per_hour']:.0f} "
              f"clips_per_step={r['clips_per_step']:.1f} median_step_s={r['seconds_per_step']:.3f} "
              f"warmup_s={r['first_steps_seconds']:.1f}")
        if device.type == "cuda" and not args.compile:
            print(f"[{variant.name}] peak_memory_GiB={r['peak_memory_gib']:.2f}")
        sheet = f" mfu_datasheet={r['tflops'] / sheet_peak:.3f}" if sheet_peak else ""
        print(f"[{variant.name}] model_TFLOPs_per_s={r['tflops']:.3f} "
              f"mfu={r['mfu']:.3f}{sheet}")
    if args.compile:
        eager, compiled = results["eager"], results["compiled"]
        print(f"compile_speedup={eager['seconds'] / compiled['seconds']:.3f} "
              f"(eager {eager['seconds']:.2f} s / compiled {compiled['seconds']:.2f} s over the "
              f"same {len(timed)} packs, interleaved; median step "
              f"{eager['seconds_per_step']:.3f} vs {compiled['seconds_per_step']:.3f} s)")
        packs = random_packs(rng, args.count_packs, budget, freq)
        counts = count_compilations(variants[1], packs)
        tokens = [sum(math.ceil(n / PATCH) * freq for n in f) for f in batches + packs]
        grew = [f"pack {i + 1} ({tokens[i]} tokens, {len((batches + packs)[i])} clips): "
                f"+{counts[i] - counts[i - 1]}" for i in range(1, len(counts))
                if counts[i] > counts[i - 1]]
        print(f"compile_count={counts[-1]} (graphs compiled over {len(counts)} training steps on "
              f"packs of {len(set(tokens))} distinct lengths; after the first pack: {counts[0]}, "
              f"the {len(counts) - 1} later packs added {counts[-1] - counts[0]}"
              f"{': ' + '; '.join(grew) if grew else ''})")
    else:
        print(f"encoder_step_mfu={results['eager']['mfu']:.3f}")


if __name__ == "__main__":
    main()
