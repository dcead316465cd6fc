#!/usr/bin/env python3
"""Per-process memory and set-up time of the training data pipeline, unsharded vs sharded.

For each corpus size N, synthetic ``wav.scp``, ``text`` and ``speech_shape`` files of N
utterances are written (every entry points to one real 1 s wav; lengths 1-30 s), then split
into shards of ``--shard_size`` utterances with ESPnet's ``split_scps`` (the layout of
``--multiple_iterator true``). A fresh process then builds the pipeline a training process
builds and takes the first batch of epoch 1:

* unsharded: ``build_packing_iter_factory`` (sampler over every utterance + ESPnet dataset
  reading the whole ``wav.scp`` and ``text``);
* sharded: ``build_sharded_packing_iter_factory`` (only the first shard is read).

It reports that process' peak resident memory (``ru_maxrss``, imports included) and the
set-up time (from building the factory to holding the first batch). One process per corpus
size measures the sharded pipeline first, then the unsharded one (the peak only grows, and
the unsharded pipeline holds more); "pipeline MB" is the peak minus the memory after imports.

    python tools/bench/bench_data_pipeline.py            # 1M and 10M utterances
    python tools/bench/bench_data_pipeline.py --quick    # 20k and 200k, under a minute

The last line is ``sharded_peak_memory_10M_over_1M=<ratio>`` (the two sizes of the run;
``--quick`` prints the same key for its smaller sizes).
"""

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000


def write_corpus(root: Path, num_utts: int, shard_size: int, seed: int = 0) -> None:
    """``wav.scp``, ``text``, ``speech_shape`` of ``num_utts`` and their ESPnet split dirs."""
    import soundfile
    from espnet2.bin.split_scps import split_scps

    root.mkdir(parents=True, exist_ok=True)
    wav = root / "one_second.wav"
    soundfile.write(wav, np.zeros(SAMPLE_RATE, dtype=np.int16), SAMPLE_RATE)
    rng = np.random.default_rng(seed)
    chunk = 1_000_000
    with (root / "wav.scp").open("w") as scp, (root / "text").open("w") as text, (
        root / "speech_shape"
    ).open("w") as shape:
        for start in range(0, num_utts, chunk):
            ids = range(start, min(start + chunk, num_utts))
            lengths = rng.integers(SAMPLE_RATE, 30 * SAMPLE_RATE, size=len(ids))
            scp.write("".join(f"utt{i:09d} {wav}\n" for i in ids))
            text.write("".join(f"utt{i:09d} a synthetic caption number {i}\n" for i in ids))
            shape.write("".join(f"utt{i:09d} {n}\n" for i, n in zip(ids, lengths)))
    num_splits = max(2, -(-num_utts // shard_size))
    split_scps(
        scps=[str(root / n) for n in ("wav.scp", "text", "speech_shape")],
        num_splits=num_splits,
        names=None,
        output_dir=str(root / "splits"),
        log_level="WARNING",
    )


def caption_code_points(uid: str, data: dict) -> dict:
    """Stand-in for the caption tokenizer (ESPnet datasets want arrays)."""
    text = np.frombuffer(data["text"].encode(), dtype=np.uint8).astype(np.int64)
    return dict(speech=data["speech"], text=text)


def measure(root: Path, sharded: bool) -> dict:
    """Build the pipeline in this process; set-up time and peak memory as a dict."""
    import torch
    from espnet2.tasks.abs_task import IteratorOptions
    from espnet2.train.collate_fn import CommonCollateFn
    from espnet2.train.dataset import ESPnetDataset

    from espnet2_slap.data.packing_iter_factory import build_packing_iter_factory
    from espnet2_slap.data.sharded_iter_factory import build_sharded_packing_iter_factory

    torch.set_num_threads(1)
    base = root / "splits" if sharded else root
    data = [(str(base / "wav.scp"), "speech", "sound"), (str(base / "text"), "text", "text")]
    args = argparse.Namespace(seed=0, batch_tokens=16384, num_workers=0, ngpu=0, accum_grad=1)
    iter_options = IteratorOptions(
        preprocess_fn=caption_code_points, collate_fn=CommonCollateFn(),
        data_path_and_name_and_type=data,
        shape_files=[str(base / "speech_shape")], batch_size=1, batch_bins=1,
        batch_type="unsorted", max_cache_size=0.0, max_cache_fd=0, allow_multi_rates=False,
        distributed=False, num_batches=None, num_iters_per_epoch=None, train=True,
    )

    def tokens_fn(samples: int) -> int:  # the paper's encoder: 16x16 patches, 4 per step
        return -(-(samples // 160 + 1) // 16) * 4

    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    if sharded:
        factory = build_sharded_packing_iter_factory(
            args, iter_options, "train", tokens_fn,
            lambda options, keys: ESPnetDataset(
                options.data_path_and_name_and_type, preprocess=caption_code_points,
                keys_to_load=keys,
            ),
        )
    else:
        factory = build_packing_iter_factory(
            args, iter_options, "train", tokens_fn,
            lambda keys: ESPnetDataset(data, preprocess=caption_code_points, keys_to_load=keys),
        )
    utt_ids, batch = next(iter(factory.build_iter(1)))
    setup_seconds = time.perf_counter() - start
    assert len(utt_ids) > 0 and batch["speech"].shape[0] == len(utt_ids)
    return dict(
        setup_seconds=setup_seconds,
        peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        imports_mb=memory_before,
    )


def measure_in_fresh_process(root: Path) -> dict:
    """{"sharded": ..., "unsharded": ...} measured in one new process, sharded first."""
    cmd = [sys.executable, __file__, "--measure", str(root)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def label(num_utts: int) -> str:
    return f"{num_utts // 1_000_000}M" if num_utts % 1_000_000 == 0 else f"{num_utts // 1000}k"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k and 200k utterances (< 1 min)")
    parser.add_argument("--sizes", type=int, nargs=2, default=None,
                        help="the two corpus sizes (default 1M 10M, --quick 20k 200k)")
    parser.add_argument("--shard_size", type=int, default=None,
                        help="utterances per shard (default 100k, --quick 10k)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the synthetic corpora go (default: a temporary dir)")
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        sharded = measure(args.measure, sharded=True)
        print(json.dumps(dict(sharded=sharded, unsharded=measure(args.measure, sharded=False))))
        return

    sizes = args.sizes or ([20_000, 200_000] if args.quick else [1_000_000, 10_000_000])
    shard_size = args.shard_size or (10_000 if args.quick else 100_000)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_data_pipeline_"))
    try:
        results = {}
        for num_utts in sizes:
            root = workdir / label(num_utts)
            start = time.perf_counter()
            write_corpus(root, num_utts, shard_size)
            print(f"# {label(num_utts)}: synthetic corpus written in "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
            measured = measure_in_fresh_process(root)
            print(f"# {label(num_utts)}: {json.dumps(measured)}", flush=True)
            for sharded in (False, True):
                results[num_utts, sharded] = measured["sharded" if sharded else "unsharded"]
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nshards of {shard_size} utterances; peak = the process' max RSS, imports included "
          f"({results[sizes[0], True]['imports_mb']:.0f} MB)")
    print("| utterances | pipeline | peak memory (MB) | pipeline MB | set-up to first batch (s) |")
    print("|---:|---|---:|---:|---:|")
    for num_utts in sizes:
        for sharded in (False, True):
            r = results[num_utts, sharded]
            own = r["peak_mb"] - results[num_utts, True]["imports_mb"]
            print(f"| {label(num_utts)} | {'sharded' if sharded else 'unsharded'} | "
                  f"{r['peak_mb']:.0f} | {own:.0f} | {r['setup_seconds']:.2f} |")
    small, large = sizes
    for sharded in (False, True):
        ratio = results[large, sharded]["peak_mb"] / results[small, sharded]["peak_mb"]
        print(f"{'sharded' if sharded else 'unsharded'} peak memory {label(large)} / "
              f"{label(small)}: {ratio:.2f}")
    ratio = results[large, True]["peak_mb"] / results[small, True]["peak_mb"]
    print(f"sharded_peak_memory_10M_over_1M={ratio:.3f}")


if __name__ == "__main__":
    main()
