"""Several captions per clip and 30 s windows: drawn per load, seeded, one example per clip."""

import json
import string

import numpy as np
import pytest
import soundfile
import yaml
from espnet2.train.distributed_utils import DistributedOption

from espnet2_slap.tasks.slap import SLAPTask
from espnet2_slap.data.preprocessor import SLAPPreprocessor

from conftest import TINY_CONFIG

CAPTIONS = ["a dog barks", "a bell rings", "rain falls", "a man speaks", "birds sing"]
FS = 16000


def draws(seed: int, epochs, train: bool = True):
    """The caption and the window start the preprocessor picks for one clip, per epoch."""
    pre = SLAPPreprocessor(train=train, text_tokenizer=None, crop_seconds=30.0, fs=FS, seed=seed)
    wave = np.arange(40 * FS, dtype=np.float32)  # sample value = its index
    picked = []
    for epoch in epochs:
        pre.set_epoch(epoch)
        out = pre("clip-1", {"speech": wave.copy(), "text": CAPTIONS[0],
                             "captions": json.dumps(CAPTIONS)})
        window = out["speech"]
        assert len(window) == 30 * FS and np.array_equal(np.diff(window), np.ones(30 * FS - 1))
        picked.append((out["text"], int(window[0])))
    return picked


def test_caption_and_window_vary_by_epoch_and_repeat_under_the_seed():
    first = draws(seed=0, epochs=range(1, 11))
    assert draws(seed=0, epochs=range(1, 11)) == first  # a fresh preprocessor, same draws
    assert draws(seed=0, epochs=[7, 3]) == [first[6], first[2]]  # not a function of load order
    captions, starts = zip(*first)
    assert set(captions) <= set(CAPTIONS) and len(set(captions)) >= 3
    assert len(set(starts)) == 10 and all(0 <= s <= 10 * FS for s in starts)
    assert draws(seed=1, epochs=range(1, 11)) != first
    # outside training: the first caption and the first window, every epoch
    assert draws(seed=0, epochs=[1, 2], train=False) == [(CAPTIONS[0], 0)] * 2


def test_short_clips_and_single_captions_pass_unchanged_and_bad_lists_are_named():
    pre = SLAPPreprocessor(train=True, text_tokenizer=None, crop_seconds=30.0, fs=FS)
    wave = np.ones(5 * FS, dtype=np.float32)
    out = pre("u", {"speech": wave, "captions": json.dumps(["only one"])})
    assert out["text"] == "only one" and len(out["speech"]) == 5 * FS
    with pytest.raises(ValueError, match="'u2': the captions entry must be a JSON list"):
        pre("u2", {"captions": "a dog barks"})


@pytest.fixture
def caption_corpus(tmp_path):
    """Six 1 s clips with three captions each and one 35 s clip, as a prepared data dir."""
    files = {"wav.scp": [], "text": [], "utt2captions": [], "speech_shape": []}
    rng = np.random.default_rng(0)
    waves, captions = {}, {}
    for i in range(7):
        utt = f"clip{i}"
        seconds = 35 if i == 6 else 1
        waves[utt] = (0.1 * rng.standard_normal(seconds * FS)).astype(np.float32)
        soundfile.write(tmp_path / f"{utt}.wav", waves[utt], FS, subtype="FLOAT")
        letter = string.ascii_lowercase[i]
        captions[utt] = [f"{letter} sound number {k}" for k in ("one", "two", "three")]
        files["wav.scp"].append(f"{utt} {tmp_path / utt}.wav")
        files["text"].append(f"{utt} {captions[utt][0]}")
        files["utt2captions"].append(f"{utt} {json.dumps(captions[utt])}")
        files["speech_shape"].append(f"{utt} {seconds * FS}")
    for name, lines in files.items():
        (tmp_path / name).write_text("\n".join(lines) + "\n")
    return tmp_path, waves, captions


def build_loader_args(data, char_token_list, num_workers):
    config = dict(TINY_CONFIG, token_type="char", batch_tokens=1200, seed=5, num_workers=num_workers)
    (data / "tiny.yaml").write_text(yaml.safe_dump(config))
    return SLAPTask.get_parser().parse_args([
        "--config", str(data / "tiny.yaml"), "--token_list", str(char_token_list),
        "--output_dir", str(data / "exp"),
        "--train_data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
        "--train_data_path_and_name_and_type", f"{data}/text,text,text",
        "--train_data_path_and_name_and_type", f"{data}/utt2captions,captions,text",
        "--valid_data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
        "--valid_data_path_and_name_and_type", f"{data}/text,text,text",
        "--train_shape_file", f"{data}/speech_shape", "--valid_shape_file", f"{data}/speech_shape",
    ])


def decode(batch, row, tokens):
    ids = batch["caption"][row, : batch["caption_lengths"][row]].tolist()
    return "".join(" " if tokens[i] == "<space>" else tokens[i] for i in ids)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_task_loader_draws_one_caption_per_clip_per_epoch(caption_corpus, char_token_list,
                                                          num_workers):
    data, waves, captions = caption_corpus
    args = build_loader_args(data, char_token_list, num_workers)
    tokens = char_token_list.read_text().split()
    factory = SLAPTask.build_iter_factory(args, DistributedOption(), mode="train")
    drawn, windows = [], []
    for epoch in (1, 2, 3):
        seen, epoch_draws = [], {}
        for utt_ids, batch in factory.build_iter(epoch):
            assert len(set(utt_ids)) == len(utt_ids)  # never two captions of one clip
            assert len(utt_ids) > 1 or utt_ids == ["clip6"]  # real batches, not one clip each
            for row, utt in enumerate(utt_ids):
                caption = decode(batch, row, tokens)
                assert caption in captions[utt]
                epoch_draws[utt] = caption
                length = int(batch["speech_lengths"][row])
                if utt == "clip6":  # 35 s -> a 30 s window of the clip
                    window = batch["speech"][row, :length].numpy()
                    start = int(np.argmin(np.abs(waves[utt][: 5 * FS + 1] - window[0])))
                    np.testing.assert_allclose(window, waves[utt][start : start + 30 * FS], atol=1e-6)
                    windows.append(start)
                    assert length == 30 * FS
                else:
                    assert length == len(waves[utt])
            seen += utt_ids
        assert sorted(seen) == sorted(waves)  # one example per clip
        drawn.append(epoch_draws)
    assert drawn[0] != drawn[1] or drawn[1] != drawn[2]
    assert len({c for d in drawn for c in d.values()}) > len(waves)  # more than one per clip
    assert len(set(windows)) == 3  # the long clip's window moves every epoch
    # the same seed draws the same captions and windows again (here: a fresh factory)
    again = SLAPTask.build_iter_factory(args, DistributedOption(), mode="train")
    for utt_ids, batch in again.build_iter(2):
        for row, utt in enumerate(utt_ids):
            assert decode(batch, row, tokens) == drawn[1][utt]


def test_validation_takes_first_caption_and_budget_counts_the_window(caption_corpus, char_token_list):
    data, waves, captions = caption_corpus
    args = build_loader_args(data, char_token_list, 0)
    tokens = char_token_list.read_text().split()
    factory = SLAPTask.build_iter_factory(args, DistributedOption(), mode="valid")
    for utt_ids, batch in factory.build_iter(1):
        for row, utt in enumerate(utt_ids):
            assert decode(batch, row, tokens) == captions[utt][0]
    cost = SLAPTask.tokens_per_sample_fn(args)
    assert cost(35 * FS) == cost(30 * FS) > cost(25 * FS)
    args.crop_seconds = None
    assert SLAPTask.tokens_per_sample_fn(args)(35 * FS) > cost(35 * FS)


def loads(factory, epoch, tokens, waves):
    """Every load of an epoch: (clip, caption drawn, window start of the long clip or 0)."""
    seen = []
    for utt_ids, batch in factory.build_iter(epoch):
        for row, utt in enumerate(utt_ids):
            start = 0
            if utt == "clip6":
                window = batch["speech"][row, : int(batch["speech_lengths"][row])].numpy()
                start = int(np.argmin(np.abs(waves[utt][: 5 * FS + 1] - window[0])))
            seen.append((utt, decode(batch, row, tokens), start))
    return seen


@pytest.mark.parametrize("iterator_type", ["task", "sequence"])
def test_draws_change_every_epoch_with_a_dataset_cache(caption_corpus, char_token_list,
                                                       iterator_type):
    """ESPnet's --max_cache_size caches the preprocessed item: the draws froze after epoch 1."""
    data, waves, captions = caption_corpus
    args = build_loader_args(data, char_token_list, 0)
    args.max_cache_size = 1e9
    args.iterator_type, args.batch_type, args.batch_size = iterator_type, "unsorted", 2
    tokens = char_token_list.read_text().split()
    factory = SLAPTask.build_iter_factory(args, DistributedOption(), mode="train")
    epochs = [dict((u, (c, s)) for u, c, s in loads(factory, e, tokens, waves)) for e in (1, 2, 3)]
    changed = sum(len({epoch[u] for epoch in epochs}) > 1 for u in waves)
    assert changed >= 5, epochs  # without a cache 6 or 7 of the 7 clips change
    assert len({epoch["clip6"][1] for epoch in epochs}) == 3  # the 30 s window moves
    assert all(c in captions[u] for epoch in epochs for u, (c, _) in epoch.items())


@pytest.mark.parametrize("iterator_type", ["task", "sequence"])
def test_a_clip_loaded_twice_in_one_epoch_gets_two_draws(caption_corpus, char_token_list,
                                                         iterator_type):
    """--num_iters_per_epoch spanning two passes over the data: the draws were seeded by
    ESPnet's epoch, so both loads of a clip got the same caption and window."""
    data, waves, captions = caption_corpus
    args = build_loader_args(data, char_token_list, 0)
    args.iterator_type, args.batch_type, args.batch_size = iterator_type, "unsorted", 2
    tokens = char_token_list.read_text().split()
    per_pass = len(SLAPTask.build_iter_factory(args, DistributedOption(), mode="train")
                   .build_iter(1))
    args.num_iters_per_epoch = 2 * per_pass
    factory = SLAPTask.build_iter_factory(args, DistributedOption(), mode="train")
    seen = loads(factory, 1, tokens, waves)
    assert sorted(u for u, _, _ in seen) == sorted(list(waves) * 2)  # two passes in one epoch
    first, second = {}, {}
    for utt, caption, start in seen:
        (second if utt in first else first)[utt] = (caption, start)
    assert sum(first[u] != second[u] for u in waves) >= 5
    assert first["clip6"][1] != second["clip6"][1]
