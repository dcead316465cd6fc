"""Sharded training data (``--multiple_iterator true``) with the packing sampler."""

import argparse
import gc
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from espnet2.bin.split_scps import split_scps
from espnet2.tasks.abs_task import IteratorOptions
from espnet2.train.collate_fn import CommonCollateFn
from espnet2.train.dataset import ESPnetDataset

from espnet2_slap.data.sharded_iter_factory import (
    build_sharded_packing_iter_factory,
    count_packed_batches,
    read_split_layout,
)

NUM_CLIPS, NUM_SHARDS, BUDGET = 30, 3, 12


def samples_to_tokens(num_samples: int) -> int:
    return -(-num_samples // 1000)


def code_points(uid, data):
    return dict(speech=data["speech"], text=np.array([ord(c) for c in data["text"]]))


@pytest.fixture(scope="module")
def split_corpus(tmp_path_factory):
    """30 clips of 800..6000 samples, split into 3 shards by ESPnet's split_scps."""
    root = tmp_path_factory.mktemp("sharded")
    rng = np.random.RandomState(7)
    scp, text, shape = [], [], []
    for i, num_samples in enumerate(rng.randint(800, 6001, size=NUM_CLIPS)):
        uid = f"clip{i:02d}"
        soundfile.write(root / f"{uid}.wav", rng.uniform(-0.1, 0.1, num_samples), 16000)
        scp.append(f"{uid} {root / uid}.wav")
        text.append(f"{uid} caption {i}")
        shape.append(f"{uid} {num_samples}")
    for name, lines in (("wav.scp", scp), ("text", text), ("speech_shape", shape)):
        (root / name).write_text("\n".join(lines) + "\n")
    split_scps(
        scps=[str(root / n) for n in ("wav.scp", "text", "speech_shape")],
        num_splits=NUM_SHARDS,
        names=None,
        output_dir=str(root / "splits"),
        log_level="WARNING",
    )
    tokens = {line.split()[0]: samples_to_tokens(int(line.split()[1])) for line in shape}
    return root / "splits", tokens


def build(splits: Path, distributed=False, num_iters_per_epoch=None, built=None):
    data = [(str(splits / "wav.scp"), "speech", "sound"), (str(splits / "text"), "text", "text")]
    args = argparse.Namespace(seed=5, batch_tokens=BUDGET, num_workers=0, ngpu=0, accum_grad=1)
    iter_options = IteratorOptions(
        preprocess_fn=code_points, collate_fn=CommonCollateFn(),
        data_path_and_name_and_type=data, shape_files=[str(splits / "speech_shape")],
        batch_size=1, batch_bins=1, batch_type="unsorted", max_cache_size=0.0, max_cache_fd=0,
        allow_multi_rates=False, distributed=distributed, num_batches=None,
        num_iters_per_epoch=num_iters_per_epoch, train=True,
    )

    def build_dataset(options, keys):
        dataset = ESPnetDataset(
            options.data_path_and_name_and_type, preprocess=code_points, keys_to_load=keys
        )
        if built is not None:
            built.append((options.shape_files[0], set(keys), weakref.ref(dataset)))
        return dataset

    return build_sharded_packing_iter_factory(
        args, iter_options, "train", samples_to_tokens, build_dataset
    )


def shard_keys(splits: Path):
    return [
        {line.split()[0]
         for line in (splits / "speech_shape" / f"split.{i}").read_text().splitlines()}
        for i in range(NUM_SHARDS)
    ]


def test_split_layout_is_espnets_and_errors_name_the_path(split_corpus, tmp_path):
    splits, _ = split_corpus
    assert read_split_layout([str(splits / "wav.scp"), str(splits / "speech_shape")]) == 3
    with pytest.raises(FileNotFoundError, match="num_splits"):
        read_split_layout([str(tmp_path)])
    (tmp_path / "num_splits").write_text("2")
    (tmp_path / "split.0").write_text("")
    with pytest.raises(FileNotFoundError, match="split.1 of 2"):
        read_split_layout([str(tmp_path)])
    (tmp_path / "split.1").write_text("")
    with pytest.raises(ValueError, match="has 2 splits"):
        read_split_layout([str(splits / "text"), str(tmp_path)])


def test_every_clip_once_per_epoch_random_batches_within_budget(split_corpus):
    splits, tokens = split_corpus
    factory = build(splits)
    shards = shard_keys(splits)
    epochs = []
    for epoch in (1, 2):
        seen = []
        for utt_ids, batch in factory.build_iter(epoch):
            assert sum(tokens[u] for u in utt_ids) <= BUDGET or len(utt_ids) == 1
            assert any(set(utt_ids) <= keys for keys in shards), "a batch mixes shards"
            assert batch["speech"].shape[0] == len(utt_ids)
            seen.append(utt_ids)
        assert sorted(u for b in seen for u in b) == sorted(tokens)
        epochs.append(seen)
    assert epochs[0] != epochs[1]
    # batches are runs of a random order, not of the split files' (sorted) order
    first_batches = [b for b in epochs[0] if len(b) > 1]
    assert any(b != sorted(b) for b in first_batches)


def test_only_the_shard_being_consumed_is_loaded(split_corpus):
    splits, _ = split_corpus
    built = []
    iterator = iter(build(splits, built=built).build_iter(1))
    next(iterator)
    assert len(built) == 1  # the other shards are not read before they are reached
    for _ in iterator:
        gc.collect()
        assert sum(ref() is not None for _, _, ref in built) == 1
    assert sorted(path for path, _, _ in built) == [
        str(splits / "speech_shape" / f"split.{i}") for i in range(NUM_SHARDS)
    ]
    shards = shard_keys(splits)
    for path, keys, _ in built:
        assert keys == shards[int(path.rsplit(".", 1)[1])]


def test_ranks_run_equal_steps_and_partition_the_epoch(split_corpus, monkeypatch):
    splits, tokens = split_corpus
    monkeypatch.setattr(torch.distributed, "get_world_size", lambda: 2)
    per_rank = []
    for rank in (0, 1):
        monkeypatch.setattr(torch.distributed, "get_rank", lambda rank=rank: rank)
        factory = build(splits, distributed=True)
        per_rank.append([u for u, _ in factory.build_iter(1)])
    assert len(per_rank[0]) == len(per_rank[1])
    clips = [sorted(u for b in batches for u in b) for batches in per_rank]
    assert not set(clips[0]) & set(clips[1])
    assert sorted(clips[0] + clips[1]) == sorted(tokens)


def test_num_iters_per_epoch_walks_the_stream_across_shards(split_corpus):
    splits, tokens = split_corpus
    full = build(splits)
    passes = [[u for u, _ in full.build_iter(p)] for p in (1, 2, 3)]
    stream = passes[0] + passes[1] + passes[2]
    per_epoch = 4  # does not divide a pass (~12 batches) nor a shard
    assert len(passes[0]) % per_epoch and len(passes[0]) > 2 * per_epoch
    short = build(splits, num_iters_per_epoch=per_epoch)
    num_epochs = len(stream) // per_epoch
    epochs = [[u for u, _ in short.build_iter(e)] for e in range(1, num_epochs + 1)]
    assert all(len(e) == per_epoch for e in epochs)
    assert [b for e in epochs for b in e] == stream[: num_epochs * per_epoch]
    # a resumed run (a fresh factory) continues the same stream
    resumed = build(splits, num_iters_per_epoch=per_epoch)
    assert [u for u, _ in resumed.build_iter(num_epochs)] == epochs[-1]
    assert sorted(u for b in stream[: len(passes[0])] for u in b) == sorted(tokens)


def test_schedule_length_counts_the_shards(split_corpus):
    splits, _ = split_corpus
    factory = build(splits)
    counts = count_packed_batches(
        str(splits / "speech_shape"), samples_to_tokens, BUDGET, seed=5, epochs=[1, 2]
    )
    assert counts == [len(list(factory.build_iter(1))), len(list(factory.build_iter(2)))]
    with pytest.raises(TypeError, match="unknown before its shards are read"):
        len(factory.build_iter(1))
    assert len(build(splits, num_iters_per_epoch=3).build_iter(2)) == 3


@pytest.mark.slow
def test_training_with_multiple_iterator(tiny_config, char_token_list, tiny_data, tmp_path):
    """slap_train --multiple_iterator true on split dirs: one epoch, every objective."""
    train, valid = tiny_data
    splits = tmp_path / "splits"
    split_scps(
        scps=[str(train / n) for n in ("wav.scp", "text", "speech_shape")],
        num_splits=2, names=None, output_dir=str(splits), log_level="WARNING",
    )
    exp = tmp_path / "exp"
    cmd = [
        sys.executable, "-m", "espnet2_slap.bin.slap_train", "--config", tiny_config,
        "--token_list", char_token_list, "--multiple_iterator", "true",
        "--train_data_path_and_name_and_type", f"{splits}/wav.scp,speech,sound",
        "--train_data_path_and_name_and_type", f"{splits}/text,text,text",
        "--valid_data_path_and_name_and_type", f"{valid}/wav.scp,speech,sound",
        "--valid_data_path_and_name_and_type", f"{valid}/text,text,text",
        "--train_shape_file", f"{splits}/speech_shape",
        "--valid_shape_file", f"{valid}/speech_shape", "--output_dir", exp,
    ]
    result = subprocess.run(list(map(str, cmd)), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stderr
    assert "sharded packing: 2 shards" in log
    assert "shard 0 of 2" in log and "shard 1 of 2" in log
    assert (exp / "1epoch.pth").is_file()
    assert "loss_ssl" in log and "loss_cap" in log
