"""Bad training data: stage 3's filter reports it, training skips what still fails and counts it."""

import argparse
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from espnet2.tasks.abs_task import IteratorOptions
from espnet2.train.collate_fn import CommonCollateFn
from espnet2.train.dataset import ESPnetDataset

from espnet2_slap.data.packing_iter_factory import build_packing_iter_factory
from espnet2_slap.data.robust_dataset import SkippedFilesCount

ROOT = Path(__file__).resolve().parents[1]
FILTER = ROOT / "egs2" / "TEMPLATE" / "slap1" / "scripts" / "filter_by_duration.py"


def run_filter(*args):
    """Stage 3's filter as the recipe runs it."""
    return subprocess.run([sys.executable, str(FILTER), *map(str, args)],
                          capture_output=True, text=True)


def write_wav(path: Path, seconds: float, fs: int = 16000) -> Path:
    rng = np.random.default_rng(abs(hash(path.name)) % 2**32)
    soundfile.write(path, 0.1 * rng.standard_normal(int(seconds * fs)), fs, subtype="PCM_16")
    return path


def add_bad_files(wav_dir: Path) -> dict:
    """utt id -> path of a corrupt, an empty, a missing and a truncated file."""
    wav_dir.mkdir(parents=True, exist_ok=True)
    corrupt = wav_dir / "corrupt.wav"
    corrupt.write_bytes(np.random.default_rng(0).bytes(4000))
    empty = wav_dir / "empty.wav"
    empty.write_bytes(b"")
    truncated = write_wav(wav_dir / "truncated.wav", 1.0)
    truncated.write_bytes(truncated.read_bytes()[:30])  # cut inside the header
    return {
        "bad_corrupt": corrupt,
        "bad_empty": empty,
        "bad_missing": wav_dir / "missing.wav",
        "bad_truncated": truncated,
    }


def test_filter_drops_bad_files_reports_reasons_and_keeps_long_clips(tmp_path):
    data = tmp_path / "org"
    wavs = data / "wav"
    wavs.mkdir(parents=True)
    paths = {
        "good_a": write_wav(wavs / "a.wav", 1.0),
        "good_b": write_wav(wavs / "b.wav", 2.0),
        "long_c": write_wav(wavs / "c.wav", 3.5),
        "short_d": write_wav(wavs / "d.wav", 0.2),
        "zero_e": write_wav(wavs / "e.wav", 0.0),
        "nocap_f": write_wav(wavs / "f.wav", 1.0),
        "rate_g": write_wav(wavs / "g.wav", 1.0, fs=8000),
        "silentcap_h": write_wav(wavs / "h.wav", 1.0),
        **add_bad_files(wavs),
    }
    captions = {u: "a sound" for u in paths if u not in ("nocap_f",)}
    captions["silentcap_h"] = ""
    utts = sorted(paths)
    (data / "wav.scp").write_text("".join(f"{u} {paths[u]}\n" for u in utts))
    (data / "text").write_text("".join(f"{u} {captions[u]}\n".replace(" \n", "\n")
                                       for u in utts if u in captions))
    (data / "utt2spk").write_text("".join(f"{u} {u}\n" for u in utts))
    (data / "utt2num_samples").write_text("".join(f"{u} 16000\n" for u in utts))

    out = tmp_path / "train"
    result = run_filter("--fs", 16000, "--min_seconds", 0.5, "--max_seconds", 3, "--nj", 2,
                        data, out)
    printed = result.stdout
    assert result.returncode == 0, result.stderr
    kept = [line.split()[0] for line in (out / "wav.scp").read_text().splitlines()]
    assert kept == ["good_a", "good_b", "long_c"]
    assert [line.split()[0] for line in (out / "text").read_text().splitlines()] == kept
    assert (out / "spk2utt").read_text().split() == ["good_a", "good_a", "good_b", "good_b",
                                                     "long_c", "long_c"]
    reasons = {line.split()[0]: line.split()[1]
               for line in (out / "dropped_utts").read_text().splitlines()}
    assert reasons == {
        "bad_corrupt": "unreadable",
        "bad_empty": "empty_file",
        "bad_missing": "missing_file",
        "bad_truncated": "unreadable",
        "short_d": "too_short",
        "zero_e": "zero_length",
        "nocap_f": "no_caption",
        "rate_g": "wrong_sample_rate",
        "silentcap_h": "empty_caption",
    }
    assert "kept 3 of 12 utterances (1 longer than 3.0 s will be cropped to 3 s" in printed
    assert ("dropped 9 (missing_file=1, empty_file=1, unreadable=2, zero_length=1, "
            "wrong_sample_rate=1, too_short=1, no_caption=1, empty_caption=1)") in printed


def test_filter_fails_when_nothing_is_usable(tmp_path):
    data = tmp_path / "org"
    bad = add_bad_files(data / "wav")
    (data / "wav.scp").write_text("".join(f"{u} {p}\n" for u, p in sorted(bad.items())))
    (data / "text").write_text("".join(f"{u} a sound\n" for u in sorted(bad)))
    result = run_filter("--fs", 16000, "--min_seconds", 0.5, "--max_seconds", 30,
                        data, tmp_path / "out")
    assert result.returncode == 1 and "no usable utterance" in result.stderr
    assert "bad_missing missing_file" in result.stderr
    assert not (tmp_path / "out").exists()


def code_points(uid, data):
    return dict(speech=data["speech"], text=np.array([ord(c) for c in data["text"]]))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_loader_skips_failing_clips_and_counts_them(tmp_path, num_workers):
    good = {f"good{i}": write_wav(tmp_path / f"good{i}.wav", 0.5 + 0.1 * i) for i in range(6)}
    bad = add_bad_files(tmp_path / "bad")
    paths = {**good, **bad}
    (tmp_path / "wav.scp").write_text("".join(f"{u} {p}\n" for u, p in sorted(paths.items())))
    (tmp_path / "text").write_text("".join(f"{u} caption\n" for u in sorted(paths)))
    (tmp_path / "shape").write_text("".join(f"{u} 8000\n" for u in sorted(paths)))
    data = [(str(tmp_path / "wav.scp"), "speech", "sound"),
            (str(tmp_path / "text"), "text", "text")]
    iter_options = IteratorOptions(
        preprocess_fn=code_points, collate_fn=CommonCollateFn(), data_path_and_name_and_type=data,
        shape_files=[str(tmp_path / "shape")], batch_size=1, batch_bins=1,
        batch_type="unsorted", max_cache_size=0.0, max_cache_fd=0, allow_multi_rates=False,
        distributed=False, num_batches=None, num_iters_per_epoch=None, train=True,
    )
    args = argparse.Namespace(seed=0, batch_tokens=3, num_workers=num_workers, ngpu=0)
    factory = build_packing_iter_factory(
        args, iter_options, "train", lambda n: n // 8000,
        lambda keys: ESPnetDataset(data, preprocess=code_points, keys_to_load=keys),
        skip_bad_files=True,
    )
    batches = SkippedFilesCount(factory.build_iter(1))
    seen = [u for utt_ids, batch in batches for u in utt_ids if "skipped_files" not in batch]
    assert sorted(seen) == sorted(good)
    assert batches.skipped == 4


@pytest.mark.slow
def test_training_completes_and_reports_skipped_files(tiny_config, char_token_list, tiny_data,
                                                       tmp_path):
    """Files broken after filtering (in the training list): one epoch still trains."""
    train, valid = tiny_data
    bad = add_bad_files(tmp_path / "bad")
    with (train / "wav.scp").open("a") as f:
        f.write("".join(f"{u} {p}\n" for u, p in sorted(bad.items())))
    with (train / "text").open("a") as f:
        f.write("".join(f"{u} a dog barks\n" for u in sorted(bad)))
    with (train / "speech_shape").open("a") as f:
        f.write("".join(f"{u} 16000\n" for u in sorted(bad)))
    exp = tmp_path / "exp"
    cmd = [
        sys.executable, "-m", "espnet2_slap.bin.slap_train", "--config", tiny_config,
        "--token_list", char_token_list,
        "--train_data_path_and_name_and_type", f"{train}/wav.scp,speech,sound",
        "--train_data_path_and_name_and_type", f"{train}/text,text,text",
        "--valid_data_path_and_name_and_type", f"{valid}/wav.scp,speech,sound",
        "--valid_data_path_and_name_and_type", f"{valid}/text,text,text",
        "--train_shape_file", f"{train}/speech_shape",
        "--valid_shape_file", f"{valid}/speech_shape", "--output_dir", exp,
    ]
    result = subprocess.run(list(map(str, cmd)), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (exp / "1epoch.pth").is_file()
    for utt_id in bad:
        assert f"skipping '{utt_id}'" in result.stderr
    train_stats = re.search(r"1epoch results: \[train\] (.*?)\[valid\]", result.stderr).group(1)
    assert re.search(r"skipped_files=4(\.0+)?\b", train_stats), train_stats
    assert "4 clips could not be loaded" in result.stderr
