"""Bad training data: stage 3's filter reports it, training skips what still fails and counts it."""

import argparse
import os
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


def cut_flac(path: Path, seconds: float = 3.0) -> Path:
    """A FLAC file cut in half: its header is intact, its samples stop mid-stream."""
    write_wav(path.with_suffix(".wav"), seconds)
    wave, rate = soundfile.read(path.with_suffix(".wav"), dtype="int16")
    soundfile.write(path, wave, rate, format="FLAC", subtype="PCM_16")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def test_filter_decodes_every_file_and_drops_a_truncated_flac(tmp_path):
    data = tmp_path / "org"
    data.mkdir()
    cut = cut_flac(data / "cut.flac")
    assert soundfile.info(cut).frames == 48000  # the header alone looks fine
    good = write_wav(data / "good.wav", 1.0)
    (data / "wav.scp").write_text(f"a_cut {cut}\nb_good {good}\n")
    (data / "text").write_text("a_cut a sound\nb_good a sound\n")
    result = run_filter("--fs", 16000, "--min_seconds", 0.5, "--max_seconds", 30, data,
                        tmp_path / "train")
    assert result.returncode == 0, result.stderr
    assert "kept 1 of 2 utterances" in result.stdout and "undecodable=1" in result.stdout
    assert re.search(r"org: decoded 2 files in \d+\.\d s \(\d+ processes\)", result.stdout)
    (line,) = (tmp_path / "train" / "dropped_utts").read_text().splitlines()
    assert line.startswith(f"a_cut undecodable {cut} (LibsndfileError: ")
    assert "lost sync" in line and "of 48000 samples" in line
    headers_only = run_filter("--fs", 16000, "--min_seconds", 0.5, "--max_seconds", 30,
                              "--decode", "false", data, tmp_path / "headers")
    assert "kept 2 of 2" in headers_only.stdout  # what a header check lets through


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


@pytest.mark.slow
def test_truncated_flac_in_the_training_list_through_stages_3_to_6(tmp_path):
    """A dumped FLAC cut in half after stage 2 (valid header): stage 3 names and drops it,
    statistics and training then run on the others, and every count adds up."""
    import yaml
    from conftest import TINY_CONFIG, write_data_dir

    template = ROOT / "egs2" / "TEMPLATE" / "slap1"
    recipe = tmp_path / "corpus" / "slap1"
    made = subprocess.run([str(template / "setup.sh"), str(recipe)], capture_output=True,
                          text=True)
    assert made.returncode == 0, made.stderr
    venv = Path(sys.executable).parent
    (recipe / "path.sh").write_text(f'export PATH="$PWD/utils:{venv}:$PATH"\nexport LC_ALL=C\n')
    for name, count, seed in (("train", 12, 1), ("valid", 4, 2)):
        write_data_dir(recipe / "fixture", name, count, seed)
    (recipe / "local" / "data.sh").write_text(
        "#!/usr/bin/env bash\nset -eu\nmkdir -p data\n"
        "for s in train valid; do rm -rf data/$s; cp -r fixture/$s data/$s; done\n")
    (recipe / "conf").mkdir(exist_ok=True)
    config = {**TINY_CONFIG, "normalize": "global_mvn", "token_type": "bpe", "max_epoch": 1}
    (recipe / "conf" / "tiny.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "LC_ALL": "C"}
    sets = ["--train_set", "train", "--valid_set", "valid", "--nj", "2", "--nbpe", "40"]

    def slap_sh(*args):
        return subprocess.run(["./slap.sh", *sets, *args], cwd=recipe, env=env, text=True,
                              capture_output=True, timeout=900)

    formatted = slap_sh("--stage", "1", "--stop_stage", "2")
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    org = recipe / "dump" / "raw" / "org" / "train"
    lengths = dict(line.split() for line in (org / "utt2num_samples").read_text().splitlines())
    victim = next(u for u, n in sorted(lengths.items()) if int(n) > 16000)  # not too short
    wav_scp = dict(line.split() for line in (org / "wav.scp").read_text().splitlines())
    flac = recipe / wav_scp[victim]
    flac.write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])

    result = slap_sh("--stage", "3", "--stop_stage", "6", "--train_config", "conf/tiny.yaml")
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    train = recipe / "dump" / "raw" / "train"
    dropped = dict(line.split(maxsplit=1) for line in (train / "dropped_utts").read_text()
                   .splitlines())
    assert dropped[victim].startswith(f"undecodable {flac.relative_to(recipe)} (")
    kept = [line.split()[0] for line in (train / "wav.scp").read_text().splitlines()]
    assert victim not in kept and len(kept) + len(dropped) == 12
    assert f"train: kept {len(kept)} of 12 utterances" in log and "undecodable=1" in log
    assert re.search(r"train: decoded 12 files in \d+\.\d s", log)  # the cost, in the log
    stats = recipe / "exp" / "slap_stats_raw_unigram40" / "train"
    assert sorted(line.split()[0] for line in (stats / "speech_shape").read_text()
                  .splitlines()) == sorted(kept)
    train_log = (recipe / "exp" / "slap_tiny" / "train.log").read_text()
    assert "1epoch results: [train]" in train_log
    assert "skipping" not in train_log and "could not be loaded" not in train_log
