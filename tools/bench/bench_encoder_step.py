#!/usr/bin/env python3
"""Training-step throughput and model FLOP utilisation (MFU) of the paper-size audio encoder.

The encoder of ``conf/slap_paper.yaml`` (ViT, width 768, 12 layers, 12 heads, SwiGLU 3072,
2 local (24 time steps) : 1 global) on packed batches of random 1-30 s clips filling a
token budget, under bf16 autocast (``--use_amp`` in training), optionally with activation
checkpointing; one step = forward + backward + AdamW step. Reported: steps/s, patch tokens/s,
audio hours per hour, peak memory, model TFLOP/s and MFU.

Model FLOPs per step (forward x 3 for forward + backward, recomputation not counted):
``2 * N_tokens * P_linear`` for the linear layers plus, per attention layer, ``4 * d * S``
score/value FLOPs, with ``S`` the number of (query, key) pairs the layer attends (a global
layer: sum over clips of L^2; a local one: each token's window, <= 2 * 48 + 1 keys).

    python tools/bench/bench_encoder_step.py                      # on CUDA, paper size
    python tools/bench/bench_encoder_step.py --device cpu --quick # code path check on CPU

``--peak_tflops`` sets the device's dense bf16 peak; by default it is looked up from the GPU
name (H100/H200 989, A100 312, L40S 362, A10 125, L4 121); the last line is
``encoder_step_mfu=<fraction>`` (``nan`` without a peak).
"""

import argparse
import math
import time

import numpy as np
import torch

from espnet2_slap.audio.slap_encoder import SLAPAudioEncoder

PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0,
                    "L4": 121.0}
FRAMES_PER_SECOND, N_MELS, PATCH = 100, 64, 16


def peak_tflops(device: torch.device, override):
    if override is not None:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, value in PEAK_BF16_TFLOPS.items():
        if key in name:
            return value
    return None


def draw_batch(rng, token_budget: int, freq_patches: int):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="torch device")
    parser.add_argument("--backend", default="auto", help="attention backend")
    parser.add_argument("--quick", action="store_true",
                        help="a small encoder and budget (code path check, any device)")
    parser.add_argument("--token_budget", type=int, default=32768,
                        help="patch tokens per packed batch (--batch_tokens)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--activation_checkpointing", action="store_true",
                        help="recompute each block in the backward pass")
    parser.add_argument("--no_amp", action="store_true", help="float32 instead of bf16 autocast")
    parser.add_argument("--peak_tflops", type=float, default=None,
                        help="dense bf16 peak of the device (default: from the GPU name)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args()

    device = torch.device(args.device)
    conf = dict(output_size=768, num_layers=12, num_heads=12, mlp_hidden_size=3072)
    if args.quick:
        conf = dict(output_size=64, num_layers=3, num_heads=4, mlp_hidden_size=128)
        args.token_budget, args.steps, args.warmup = min(args.token_budget, 2048), 2, 1
    torch.manual_seed(args.seed)
    encoder = SLAPAudioEncoder(
        input_size=N_MELS, attention_backend=args.backend,
        activation_checkpointing=args.activation_checkpointing, **conf,
    ).to(device)
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-4)
    rng = np.random.default_rng(args.seed)
    batches = [draw_batch(rng, args.token_budget, encoder.freq_patches)
               for _ in range(args.warmup + args.steps)]
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=not args.no_amp)

    def run(frames):
        feats = torch.randn(len(frames), max(frames), N_MELS, device=device)
        lengths = torch.tensor(frames, device=device)
        with amp:
            out = encoder(feats, lengths)
            loss = out.values.float().square().mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for frames in batches[: args.warmup]:
        run(frames)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for frames in batches[args.warmup:]:
        run(frames)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start

    timed = batches[args.warmup:]
    tokens = sum(math.ceil(n / PATCH) * encoder.freq_patches for f in timed for n in f)
    audio_seconds = sum(n for f in timed for n in f) / FRAMES_PER_SECOND
    flops = sum(step_flops(encoder, f, encoder.window_radius) for f in timed)
    achieved = flops / seconds / 1e12
    peak = peak_tflops(device, args.peak_tflops)
    mfu = achieved / peak if peak else float("nan")
    params = sum(p.numel() for p in encoder.parameters())
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"# device={name} backend={args.backend} params={params / 1e6:.1f}M "
          f"token_budget={args.token_budget} amp={'off' if args.no_amp else 'bf16'} "
          f"activation_checkpointing={args.activation_checkpointing} torch={torch.__version__}")
    print(f"steps/s={args.steps / seconds:.3f} tokens/s={tokens / seconds:.0f} "
          f"audio_hours_per_hour={audio_seconds / seconds:.0f} "
          f"clips_per_step={np.mean([len(f) for f in timed]):.1f}")
    if device.type == "cuda":
        print(f"peak_memory_GiB={torch.cuda.max_memory_allocated(device) / 2**30:.2f}")
    print(f"model_TFLOPs_per_s={achieved:.2f} peak_bf16_TFLOPs={peak}")
    print(f"encoder_step_mfu={mfu:.3f}")


if __name__ == "__main__":
    main()
