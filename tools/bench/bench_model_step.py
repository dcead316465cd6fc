#!/usr/bin/env python3
"""The whole SLAP model's training step, eager vs ``audio_encoder_conf: {compile: true}``.

Builds the model of a training config (default ``conf/slap_tiny.yaml``, the CPU demo's) with
ESPnet's task twice, the second with the audio encoder compiled, same weights; then trains
both on the same packed batches of random 1-30 s clips (white noise, short captions) filling
the config's ``batch_tokens``, alternating step by step so that a shared machine's load hits
both alike. One step = the model's forward (all three losses, the EMA teacher's pass
included) + backward + AdamW step + EMA update, in float32 (the CPU demo trains so).
Needs ESPnet (tools/venv); the normalisation is utterance MVN (no statistics file) and the
caption tokens are characters.

    tools/venv/bin/python tools/bench/bench_model_step.py              # ~10 min on 2 CPU cores
    tools/venv/bin/python tools/bench/bench_model_step.py --steps 4    # shorter

The first ``--warmup`` steps are untimed (they hold the compilation). The last line is
``model_step_compile_speedup=<eager time / compiled time>``.
"""

import argparse
import math
import os
import string
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

CAPTIONS = ["a dog barks", "a bell rings twice", "a man speaks", "a piano plays a low note"]


def build(config: str, tmp: str, compile_encoder: bool, seed: int):
    import yaml

    from espnet2_slap.tasks.slap import SLAPTask

    with open(config) as f:
        conf = yaml.safe_load(f)
    conf["audio_encoder_conf"] = dict(conf.get("audio_encoder_conf") or {}, compile=compile_encoder)
    conf.update(normalize="utterance_mvn", normalize_conf={}, token_type="char", bpemodel=None)
    path = os.path.join(tmp, f"config_{int(compile_encoder)}.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(conf, f)
    tokens = os.path.join(tmp, "tokens.txt")
    with open(tokens, "w") as f:
        f.write("\n".join(["<blank>", "<unk>", "<space>"] + list(string.ascii_lowercase)
                          + ["<sos/eos>"]) + "\n")
    args = SLAPTask.get_parser().parse_args(
        ["--config", path, "--token_list", tokens, "--output_dir", tmp])
    torch.manual_seed(seed)
    model = SLAPTask.build_model(args)
    return args, model, conf


def batches_for(args, conf, count: int, seed: int):
    """Packs of random 1-30 s clips up to ``batch_tokens`` (the sampler's budget)."""
    from espnet2_slap.tasks.slap import SLAPTask

    preprocess = SLAPTask.build_preprocess_fn(args, train=True)
    collate = SLAPTask.build_collate_fn(args, train=True)
    budget = conf.get("batch_tokens", 6144)
    rng = np.random.default_rng(seed)
    out = []
    for b in range(count):
        items, tokens = [], 0
        while True:
            seconds = rng.uniform(1.0, 30.0)
            t = math.ceil(seconds * 100 / 16) * 4
            if items and tokens + t > budget:
                break
            wave = (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32)
            uid = f"b{b}_{len(items)}"
            items.append((uid, preprocess(uid, {"speech": wave,
                                                "text": CAPTIONS[len(items) % len(CAPTIONS)]})))
            tokens += t
        out.append(collate(items)[1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=os.path.join(ROOT, "conf", "slap_tiny.yaml"))
    parser.add_argument("--steps", type=int, default=8, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    with tempfile.TemporaryDirectory() as tmp:
        task_args, eager, conf = build(args.config, tmp, False, args.seed)
        _, compiled, _ = build(args.config, tmp, True, args.seed)
        compiled.load_state_dict(eager.state_dict())
        batches = batches_for(task_args, conf, args.warmup + args.steps, args.seed)
    runs = {}
    for name, model in (("eager", eager), ("compiled", compiled)):
        model.train()
        for teacher in [m for m in model.modules() if type(m).__name__ == "EMATeacher"]:
            teacher.set_total_steps(1000)
        params = [p for p in model.parameters() if p.requires_grad]
        runs[name] = dict(model=model, optimizer=torch.optim.AdamW(params, lr=1e-4), times=[],
                          warmup=0.0)

    def step(run, batch, i):
        model, optimizer = run["model"], run["optimizer"]
        torch.manual_seed(args.seed + i)  # the same masks, SpecAugment and dropout draws
        start = time.perf_counter()
        loss, _, _ = model(**batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        for teacher in [m for m in model.modules() if type(m).__name__ == "EMATeacher"]:
            teacher.update()
        seconds = time.perf_counter() - start
        if i < args.warmup:
            run["warmup"] += seconds
        else:
            run["times"].append(seconds)
        return float(loss.detach())

    for i, batch in enumerate(batches):
        losses = [step(runs[name], batch, i) for name in ("eager", "compiled")]
        print(f"step {i}: clips={len(batch['speech_lengths'])} loss eager={losses[0]:.4f} "
              f"compiled={losses[1]:.4f}", flush=True)
    clips = sum(len(b["speech_lengths"]) for b in batches[args.warmup:])
    print(f"# config={os.path.relpath(args.config, ROOT)} batch_tokens={conf.get('batch_tokens')} "
          f"threads={torch.get_num_threads()} torch={torch.__version__}")
    for name, run in runs.items():
        total = sum(run["times"])
        print(f"[{name}] {total:.2f} s for {len(run['times'])} steps ({clips / total:.2f} clips/s, "
              f"median step {np.median(run['times']):.3f} s); warm-up {run['warmup']:.1f} s")
    ratio = sum(runs["eager"]["times"]) / sum(runs["compiled"]["times"])
    print(f"model_step_compile_speedup={ratio:.3f}")


if __name__ == "__main__":
    main()
