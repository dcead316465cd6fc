"""Token-budget packing sampler and its ESPnet iterator factory."""

import argparse
import logging
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
import soundfile
import torch

from espnet2_slap.data.packing_iter_factory import (
    PackingIterFactory,
    build_packing_iter_factory,
)
from espnet2_slap.data.packing_sampler import (
    TokenBudgetBatchSampler,
    utt2tokens_from_shape_file,
)

BUDGET = 8000


@pytest.fixture(scope="module")
def utt2tokens() -> Dict[str, int]:
    """500 utterances of 4..3000 tokens plus three longer than the budget."""
    rng = np.random.RandomState(1234)
    tokens = {f"utt{i:03d}": int(n) for i, n in enumerate(rng.randint(4, 3001, size=500))}
    tokens.update(huge_a=BUDGET + 1, huge_b=3 * BUDGET, huge_c=BUDGET + 500)
    return tokens


def batch_tokens(batch: List[str], utt2tokens: Dict[str, int]) -> int:
    return sum(utt2tokens[u] for u in batch)


def flatten(batches: List[List[str]]) -> List[str]:
    return [u for batch in batches for u in batch]


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(np.argsort(np.argsort(x)), np.argsort(np.argsort(y)))[0, 1])


def test_budget_respected_and_oversize_alone(utt2tokens, caplog):
    with caplog.at_level(logging.WARNING):
        sampler = TokenBudgetBatchSampler(utt2tokens, BUDGET, seed=0)
        all_batches = [sampler.batches(epoch) for epoch in (1, 2, 3)]
    oversize_warnings = [r for r in caplog.records if "exceed token_budget" in r.getMessage()]
    assert len(oversize_warnings) == 1
    assert "3 of 503" in oversize_warnings[0].getMessage()

    for batches in all_batches:
        over = [b for b in batches if batch_tokens(b, utt2tokens) > BUDGET]
        assert sorted(u for b in over for u in b) == ["huge_a", "huge_b", "huge_c"]
        assert all(len(b) == 1 for b in over)
        assert all(batch_tokens(b, utt2tokens) <= BUDGET for b in batches if b not in over)


def test_each_utterance_exactly_once_per_epoch(utt2tokens):
    sampler = TokenBudgetBatchSampler(utt2tokens, BUDGET, seed=0)
    for epoch in (1, 2, 7):
        used = flatten(sampler.batches(epoch))
        assert len(used) == len(utt2tokens)
        assert set(used) == set(utt2tokens)


def test_order_is_seeded_permutation_filled_greedily(utt2tokens):
    sampler = TokenBudgetBatchSampler(utt2tokens, BUDGET, seed=5)
    batches = sampler.batches(3)
    expected_order = np.array(sorted(utt2tokens))[np.random.RandomState([5, 3]).permutation(503)]
    assert flatten(batches) == expected_order.tolist()
    # next-fit: no batch could also have taken the first utterance of the next batch
    for batch, following in zip(batches, batches[1:]):
        assert batch_tokens(batch, utt2tokens) + utt2tokens[following[0]] > BUDGET


def test_same_seed_and_epoch_reproduce_other_epochs_differ(utt2tokens):
    first = TokenBudgetBatchSampler(utt2tokens, BUDGET, seed=11)
    resumed = TokenBudgetBatchSampler(dict(reversed(utt2tokens.items())), BUDGET, seed=11)
    assert first.batches(4) == resumed.batches(4)
    assert first.batches(4) != first.batches(5)
    assert first.batches(4) != TokenBudgetBatchSampler(utt2tokens, BUDGET, seed=12).batches(4)
    as_sets = [set(map(frozenset, first.batches(epoch))) for epoch in (1, 2)]
    assert len(as_sets[0] & as_sets[1]) < 0.05 * len(as_sets[0])


def test_batches_are_not_length_sorted(utt2tokens):
    sampler = TokenBudgetBatchSampler(utt2tokens, BUDGET, seed=0)
    batches = sampler.batches(1)
    lengths = np.array([utt2tokens[u] for u in flatten(batches)])
    assert abs(spearman(np.arange(len(lengths)), lengths)) < 0.1
    mean_per_batch = np.array([batch_tokens(b, utt2tokens) / len(b) for b in batches])
    assert abs(spearman(np.arange(len(batches)), mean_per_batch)) < 0.2
    # many batches hold both a short (< 800) and a long (> 2000) clip
    sizes = [[utt2tokens[u] for u in b] for b in batches]
    mixed = [s for s in sizes if min(s) < 800 and max(s) > 2000]
    assert len(mixed) > 0.3 * len(batches)  # a length-sorted packing has ~0


def test_unshuffled_is_sorted_and_fixed(utt2tokens):
    sampler = TokenBudgetBatchSampler(utt2tokens, BUDGET, seed=0, shuffle=False)
    batches = sampler.batches(1)
    assert batches == sampler.batches(2)
    assert flatten(batches) == sorted(utt2tokens)
    for batch, following in zip(batches, batches[1:]):
        assert batch_tokens(batch, utt2tokens) + utt2tokens[following[0]] > BUDGET
    shuffled = TokenBudgetBatchSampler(utt2tokens, BUDGET, seed=0)
    assert shuffled.batches(1, shuffle=False) == batches


@pytest.mark.parametrize("world_size", [2, 3])
@pytest.mark.parametrize("shuffle", [True, False])
def test_data_parallel_ranks_partition_the_epoch(utt2tokens, world_size, shuffle):
    single = TokenBudgetBatchSampler(utt2tokens, BUDGET, seed=2, shuffle=shuffle).batches(6)
    per_rank = [
        TokenBudgetBatchSampler(
            utt2tokens, BUDGET, seed=2, shuffle=shuffle, world_size=world_size, rank=rank
        ).batches(6)
        for rank in range(world_size)
    ]
    counts = {len(batches) for batches in per_rank}
    assert len(counts) == 1
    assert len(single) <= counts.pop() * world_size < len(single) + world_size
    used = [flatten(batches) for batches in per_rank]
    assert sum(len(u) for u in used) == len(utt2tokens)
    assert set().union(*map(set, used)) == set(utt2tokens)
    for batches in per_rank:
        for batch in batches:
            assert len(batch) == 1 or batch_tokens(batch, utt2tokens) <= BUDGET


def test_data_parallel_splits_batches_to_equalise():
    utt2tokens = {"a": 10, "b": 10, "c": 30, "d": 10}
    per_rank = [
        TokenBudgetBatchSampler(utt2tokens, 100, seed=0, world_size=3, rank=r).batches(1)
        for r in range(3)
    ]
    assert [len(b) for b in per_rank] == [1, 1, 1]
    assert sorted(flatten([b[0] for b in per_rank])) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match=r"5 ranks.*4 utterances pack into 1 batches"):
        TokenBudgetBatchSampler(utt2tokens, 100, seed=0, world_size=5).batches(1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(token_budget=0), "token_budget=0"),
        (dict(rank=2, world_size=2), r"rank=2 must be in \[0, 1\]"),
        (dict(seed=-1), "seed=-1"),
        (dict(utt2tokens={"x": 5, "bad": 0}), "'bad'"),
        (dict(utt2tokens={"x": 2.5}), "'x'"),
        (dict(utt2tokens={}), "empty"),
    ],
)
def test_invalid_arguments_name_the_culprit(kwargs, message):
    arguments = dict(utt2tokens={"x": 5}, token_budget=10, seed=0) | kwargs
    with pytest.raises(ValueError, match=message):
        TokenBudgetBatchSampler(**arguments)


def test_repr_summarises(utt2tokens):
    text = repr(TokenBudgetBatchSampler(utt2tokens, BUDGET, seed=0, world_size=2, rank=1))
    assert "token_budget=8000" in text and "utterances=503" in text and "rank=1" in text


def test_shape_file_reader(tmp_path):
    path = tmp_path / "speech_shape"
    path.write_text("u1 16000\n\nu2 32001,2\nu3 1\n")
    assert utt2tokens_from_shape_file(path, lambda n: -(-n // 1000)) == {
        "u1": 16, "u2": 33, "u3": 1
    }


@pytest.mark.parametrize(
    "content, message",
    [
        ("u1 100\nu2\n", ":2: expected"),
        ("u1 100 7\n", ":1: expected"),
        ("u1 100\nu2 1.5e3\n", ":2: length of 'u2' is not an integer"),
        ("u1 0\n", ":1: length of 'u1' must be positive"),
        ("u1 100\nu1 200\n", ":2: utterance 'u1' appears twice"),
        ("u1 100\nu2 5\n", r":2: tokens_fn\(5\) for 'u2' gave 0"),
        ("\n", "lists no utterance"),
    ],
)
def test_shape_file_reader_rejects_malformed_lines(tmp_path, content, message):
    path = tmp_path / "speech_shape"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as error:
        utt2tokens_from_shape_file(path, lambda n: n // 10)
    assert str(path) in str(error.value)


# ---------------------------------------------------------------- iterator factory


def text_to_code_points(uid: str, data: Dict) -> Dict[str, np.ndarray]:
    """Preprocess: caption string -> int array of its characters' code points."""
    return dict(speech=data["speech"], text=np.array([ord(c) for c in data["text"]]))


def samples_to_tokens(num_samples: int) -> int:
    return -(-num_samples // 1000)


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    """Nine random 16 kHz wavs (800..8000 samples), their captions and shape file."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.RandomState(0)
    waves, captions = {}, {}
    scp, text, shape = [], [], []
    for i, num_samples in enumerate(rng.randint(800, 8001, size=9)):
        uid = f"clip{i}"
        wav = rng.randint(-3000, 3000, size=num_samples).astype(np.int16)
        soundfile.write(root / f"{uid}.wav", wav, 16000, subtype="PCM_16")
        waves[uid] = wav.astype(np.float32) / 32768
        captions[uid] = f"caption number {i}" + "!" * i
        scp.append(f"{uid} {root / uid}.wav")
        text.append(f"{uid} {captions[uid]}")
        shape.append(f"{uid} {num_samples}")
    for name, lines in (("wav.scp", scp), ("text", text), ("speech_shape", shape)):
        (root / name).write_text("\n".join(lines) + "\n")
    return root, waves, captions


def build_factory(root: Path, mode: str, distributed: bool = False, **arg_overrides):
    from espnet2.tasks.abs_task import IteratorOptions
    from espnet2.train.collate_fn import CommonCollateFn
    from espnet2.train.dataset import ESPnetDataset

    data = [(str(root / "wav.scp"), "speech", "sound"), (str(root / "text"), "text", "text")]
    args = argparse.Namespace(
        seed=3, batch_tokens=12, valid_batch_tokens=None, num_workers=0, ngpu=0
    )
    vars(args).update(arg_overrides)
    iter_options = IteratorOptions(
        preprocess_fn=text_to_code_points,
        collate_fn=CommonCollateFn(),
        data_path_and_name_and_type=data,
        shape_files=[str(root / "speech_shape")],
        batch_size=1,
        batch_bins=1,
        batch_type="unsorted",
        max_cache_size=0.0,
        max_cache_fd=0,
        allow_multi_rates=False,
        distributed=distributed,
        num_batches=None,
        num_iters_per_epoch=None,
        train=mode == "train",
    )
    loaded_keys = []

    def build_dataset(keys):
        loaded_keys.append(keys)
        return ESPnetDataset(data, preprocess=text_to_code_points, keys_to_load=keys)

    factory = build_packing_iter_factory(args, iter_options, mode, samples_to_tokens, build_dataset)
    assert loaded_keys == [{f"clip{i}" for i in range(9)}]
    return factory


@pytest.mark.parametrize("num_workers", [0, 2])
def test_factory_yields_each_clip_once_in_sampler_batches(tiny_corpus, num_workers):
    root, waves, captions = tiny_corpus
    factory = build_factory(root, "train", num_workers=num_workers)
    epochs = {}
    for epoch in (1, 2):
        expected = factory.sampler.batches(epoch)
        seen = []
        for utt_ids, batch in factory.build_iter(epoch):
            seen.append(utt_ids)
            lengths = batch["speech_lengths"].tolist()
            assert lengths == [len(waves[u]) for u in utt_ids]
            assert sum(samples_to_tokens(n) for n in lengths) <= 12 or len(utt_ids) == 1
            for row, uid in enumerate(utt_ids):
                np.testing.assert_allclose(
                    batch["speech"][row, : len(waves[uid])].numpy(), waves[uid], atol=1e-6
                )
                codes = batch["text"][row, : batch["text_lengths"][row]].tolist()
                assert "".join(map(chr, codes)) == captions[uid]
        assert seen == expected
        assert sorted(flatten(seen)) == sorted(waves)
        epochs[epoch] = seen
    assert epochs[1] != epochs[2]


def test_factory_valid_budget_and_distributed_rank(tiny_corpus, monkeypatch):
    root, waves, _ = tiny_corpus
    valid = build_factory(root, "valid", valid_batch_tokens=30)
    assert valid.sampler.token_budget == 30 and not valid.sampler.shuffle
    assert flatten(valid.sampler.batches(1)) == sorted(waves)

    monkeypatch.setattr(torch.distributed, "get_world_size", lambda: 2)
    monkeypatch.setattr(torch.distributed, "get_rank", lambda: 1)
    train = build_factory(root, "train", distributed=True)
    assert (train.sampler.world_size, train.sampler.rank) == (2, 1)
    assert [u for u, _ in train.build_iter(1)] == train.sampler.batches(1)


@pytest.mark.parametrize(
    "mode, overrides, message",
    [
        ("plot_att", {}, "mode='plot_att' is not supported"),
        ("train", dict(batch_tokens=None), r"--batch_tokens must be a positive integer"),
        ("valid", dict(valid_batch_tokens=0), r"--valid_batch_tokens must be a positive"),
    ],
)
def test_factory_rejects_bad_setup(tiny_corpus, mode, overrides, message):
    with pytest.raises(ValueError, match=message):
        build_factory(tiny_corpus[0], mode, **overrides)


def test_num_iters_per_epoch_walks_a_stream_of_passes(utt2tokens):
    sampler = TokenBudgetBatchSampler(utt2tokens, BUDGET, seed=0, world_size=2, rank=1)
    stream = sampler.batches(1) + sampler.batches(2) + sampler.batches(3)
    per_epoch = 37  # does not divide the ~55 batches of a pass
    factory = PackingIterFactory(dataset={}, sampler=sampler, num_iters_per_epoch=per_epoch)
    epochs = [list(factory.build_iter(e).batch_sampler) for e in (1, 2, 3, 4)]
    assert all(len(batches) == per_epoch for batches in epochs)
    assert flatten(epochs) == stream[: 4 * per_epoch]
    resumed = PackingIterFactory(dataset={}, sampler=sampler, num_iters_per_epoch=per_epoch)
    assert list(resumed.build_iter(4).batch_sampler) == epochs[3]
