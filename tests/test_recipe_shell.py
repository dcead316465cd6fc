"""Tests of the recipe template egs2/TEMPLATE/slap1: shell helpers, Python helpers, slap.sh.

The stage tests make a throw-away recipe directory with the template's setup.sh, give it a
path.sh that puts the running interpreter's venv first and a local/data.sh that copies
generated fixture data, and run slap.sh in it.
"""

import importlib.util
import json
import re
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Sequence

import numpy as np
import pytest
import soundfile
import yaml

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "egs2" / "TEMPLATE" / "slap1"
UTILS = TEMPLATE / "utils"
SCRIPTS = TEMPLATE / "scripts"
MINI_SOUNDS = REPO / "egs2" / "mini_sounds" / "slap1"
VENV_BIN = Path(sys.executable).parent

SHELL_FILES = sorted(
    [TEMPLATE / name for name in ("slap.sh", "setup.sh", "path.sh", "cmd.sh", "db.sh")]
    + [TEMPLATE / "recipe" / "run.sh", TEMPLATE / "recipe" / "local" / "data.sh"]
    + [SCRIPTS / "lib.sh", REPO / "egs2" / "TEMPLATE" / "slapcls1" / "slapcls.sh"]
    + sorted(UTILS.glob("*.sh"))
    + [MINI_SOUNDS / name for name in ("run.sh", "path.sh", "cmd.sh", "db.sh")]
)
PERL_FILES = sorted(UTILS.glob("*.pl"))


def shell_env() -> Dict[str, str]:
    """The environment path.sh would give: venv first on PATH, C locale, offline hub."""
    env = dict(os.environ)
    env.update(PATH=f"{VENV_BIN}:{env['PATH']}", LC_ALL="C", HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


def run(args: Sequence[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=shell_env(), text=True,
                          capture_output=True, timeout=timeout)


def load_script(name: str) -> ModuleType:
    """Import scripts/<name>.py as a module (scripts/ on sys.path, as when it is run)."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", SHELL_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_shell_syntax(path):
    result = run(["bash", "-n", path], cwd=REPO)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", PERL_FILES, ids=lambda p: p.name)
def test_perl_helpers_compile(path):
    result = run(["perl", "-c", path], cwd=REPO)
    assert result.returncode == 0, result.stderr


def test_mini_sounds_links_point_into_template():
    for name in ("utils", "scripts", "slap.sh"):
        link = MINI_SOUNDS / name
        assert link.is_symlink(), name
        assert os.readlink(link) == f"../../TEMPLATE/slap1/{name}"
        assert link.resolve() == (TEMPLATE / name).resolve()


# ------------------------------------------------------------------------------------------
# utils/parse_options.sh
# ------------------------------------------------------------------------------------------
@pytest.fixture
def options_script(tmp_path) -> Path:
    script = tmp_path / "demo.sh"
    script.write_text(
        "set -eu\n"
        "foo_bar=default\nflag=false\n"
        'help_message="usage: demo.sh [--foo-bar X] [--flag true|false]"\n'
        f". {UTILS}/parse_options.sh\n"
        'echo "foo_bar=[${foo_bar}] flag=[${flag}] rest=[$*]"\n'
    )
    return script


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--foo-bar", "x"], "foo_bar=[x] flag=[false] rest=[]"),
        (["--foo_bar", "a b", "--flag", "true", "pos"], "foo_bar=[a b] flag=[true] rest=[pos]"),
        (["--flag", "true", "--", "--foo-bar"], "foo_bar=[default] flag=[true] rest=[--foo-bar]"),
        ([], "foo_bar=[default] flag=[false] rest=[]"),
    ],
)
def test_parse_options_sets_variables(options_script, args, expected):
    result = run(["bash", options_script, *args], cwd=options_script.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize(
    "args, message",
    [
        (["--nope", "1"], "unknown option '--nope'"),
        (["--foo-bar"], "option '--foo-bar' needs a value"),
        (["--flag", "yes"], "takes true or false, got 'yes'"),
        (["--foo-bar=x"], "write '--foo-bar VALUE'"),
    ],
)
def test_parse_options_rejects_bad_options(options_script, args, message):
    result = run(["bash", options_script, *args], cwd=options_script.parent)
    assert result.returncode == 1
    assert message in result.stderr
    assert "foo_bar=" not in result.stdout


def test_parse_options_help_prints_help_message(options_script):
    result = run(["bash", options_script, "--help", "--foo-bar", "x"], cwd=options_script.parent)
    assert result.returncode == 0
    assert result.stdout == "usage: demo.sh [--foo-bar X] [--flag true|false]\n"  # help only
    assert result.stderr == ""


# ------------------------------------------------------------------------------------------
# utils/run.pl
# ------------------------------------------------------------------------------------------
def test_run_pl_substitutes_job_and_writes_logs(tmp_path):
    result = run([UTILS / "run.pl", "JOB=1:3", "log/echo.JOB.log",
                  "echo", "job JOB of 3", "<sym>:JOB", "|", "tr", "a-z", "A-Z"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for job in (1, 2, 3):
        log = (tmp_path / "log" / f"echo.{job}.log").read_text()
        assert f"JOB {job} OF 3 <SYM>:{job}\n" in log  # quoted words intact, pipe applied
        assert "# Ended (code 0)" in log
    assert not (tmp_path / "log" / "echo.4.log").exists()


def test_run_pl_reports_failed_jobs(tmp_path):
    result = run([UTILS / "run.pl", "JOB=1:3", "log/x.JOB.log", "bash", "-c", "exit $((JOB % 2))"],
                 cwd=tmp_path)
    assert result.returncode == 1
    assert "2 / 3 failed" in result.stderr
    assert "log/x.1.log" in result.stderr and "log/x.3.log" in result.stderr
    assert "log/x.2.log" not in result.stderr
    assert "# Ended (code 1)" in (tmp_path / "log" / "x.3.log").read_text()
    assert "# Ended (code 0)" in (tmp_path / "log" / "x.2.log").read_text()


def test_run_pl_runs_jobs_in_parallel(tmp_path):
    # Job 1 only succeeds if job 2 runs while it waits.
    script = ('if [ JOB = 2 ]; then touch ready; exit 0; fi; '
              'for i in $(seq 100); do [ -e ready ] && exit 0; sleep 0.1; done; exit 1')
    result = run([UTILS / "run.pl", "--mem", "2G", "--gpu", "0", "JOB=1:2", "log/p.JOB.log",
                  "bash", "-c", script], cwd=tmp_path)
    assert result.returncode == 0, (tmp_path / "log" / "p.1.log").read_text()


def test_run_pl_single_job_and_usage_errors(tmp_path):
    assert run([UTILS / "run.pl", "one.log", "true"], cwd=tmp_path).returncode == 0
    assert "# Ended (code 0)" in (tmp_path / "one.log").read_text()
    result = run([UTILS / "run.pl", "JOB=1:2", "same.log", "true"], cwd=tmp_path)
    assert result.returncode == 1 and "must contain JOB" in result.stderr
    result = run([UTILS / "run.pl", "--queue", "x", "a.log", "true"], cwd=tmp_path)
    assert result.returncode == 1 and "unknown option --queue" in result.stderr


# ------------------------------------------------------------------------------------------
# utils/validate_data_dir.sh
# ------------------------------------------------------------------------------------------
GOOD_DIR = {
    "wav.scp": "u1 /a/u1.wav\nu2 /a/u2.wav\n",
    "text": "u1 a dog barks\nu2 a bell rings\n",
    "utt2spk": "u1 s1\nu2 s1\n",
    "spk2utt": "s1 u1 u2\n",
    "utt2dur": "u1 1.0\nu2 2.0\n",
    "text_refs": "u1 a dog barks\nu1 a dog is barking\nu2 a bell rings\n",
    "utt2label": "u1 dog\nu2 church bell\n",
    "labels": "church bell\ndog\n",
}


def write_files(directory: Path, files: Dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / name).write_text(content)
    return directory


def test_validate_data_dir_accepts_good_dir(tmp_path):
    data = write_files(tmp_path / "d", GOOD_DIR)
    result = run([UTILS / "validate_data_dir.sh", data], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "OK (2 utterances)" in result.stdout


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"text": "u2 a bell rings\nu1 a dog barks\n"}, 'text line 2: not sorted: id "u1"'),
        ({"text": "u1 a dog barks\nu2\n"}, 'text line 2: no caption after utterance id "u2"'),
        ({"text": "u1 a dog barks\nu3 a cat\n"}, 'text line 2: utterance "u3" is not in'),
        ({"text": "u1 a dog barks\n"}, 'text: no entry for utterance "u2"'),
        ({"wav.scp": "u1 /a/u1.wav\nu1 /a/u1b.wav\n"}, 'wav.scp line 2: duplicated utterance id'),
        ({"utt2dur": "u1 1.0\n"}, 'utt2dur: no entry for utterance "u2"'),
        ({"text_refs": "u1 a dog barks\n"}, 'text_refs: no entry for utterance "u2"'),
        ({"spk2utt": "s1 u1\ns2 u2\n"}, 'spk2utt line 2: utterance "u2" is not of speaker "s2"'),
        ({"utt2label": "u1 dog\nu2 bird\n"}, 'utt2label line 2: label "bird" is not in'),
    ],
)
def test_validate_data_dir_names_file_and_line(tmp_path, changes, message):
    data = write_files(tmp_path / "d", {**GOOD_DIR, **changes})
    result = run([UTILS / "validate_data_dir.sh", data], cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr


def test_validate_data_dir_needs_text(tmp_path):
    data = write_files(tmp_path / "d", {"wav.scp": GOOD_DIR["wav.scp"]})
    result = run([UTILS / "validate_data_dir.sh", data], cwd=tmp_path)
    assert result.returncode == 1
    assert "d/text is missing or empty" in result.stderr


# ------------------------------------------------------------------------------------------
# scripts/*.py
# ------------------------------------------------------------------------------------------
def stereo_tone(seconds: float, rate: int) -> np.ndarray:
    """(T, 2): a 440 Hz tone, amplitude 0.5 on the left and 0.3 on the right."""
    t = np.arange(int(seconds * rate)) / rate
    tone = np.sin(2 * np.pi * 440 * t)
    return np.stack([0.5 * tone, 0.3 * tone], axis=1).astype(np.float32)


def test_format_wav_scp_downmixes_and_resamples(tmp_path):
    format_wav_scp = load_script("format_wav_scp")
    inputs = {"utt_a": (0.5, 8000), "utt_b": (0.75, 8000), "utt_d": (0.6, 22050)}
    scp = []
    for utt, (seconds, rate) in inputs.items():
        soundfile.write(tmp_path / f"{utt}.wav", stereo_tone(seconds, rate), rate)
        scp.append(f"{utt} {tmp_path / utt}.wav")
    scp.append(f"utt_c cat {tmp_path / 'utt_a.wav'} |")  # a pipe entry
    (tmp_path / "in.scp").write_text("\n".join(scp) + "\n")

    status = format_wav_scp.main([
        str(tmp_path / "in.scp"), "--fs", "16000", "--audio_dir", str(tmp_path / "out"),
        "--out_wav_scp", str(tmp_path / "wav.scp"),
        "--out_num_samples", str(tmp_path / "utt2num_samples"),
    ])
    assert status == 0
    counts = dict(line.split() for line in (tmp_path / "utt2num_samples").read_text().splitlines())
    # 0.6 s at 22.05 kHz: 13230 samples -> 13230 * 16000 / 22050 = 9600
    assert counts == {"utt_a": "8000", "utt_b": "12000", "utt_c": "8000", "utt_d": "9600"}
    paths = dict(line.split() for line in (tmp_path / "wav.scp").read_text().splitlines())
    for utt, path in paths.items():
        info = soundfile.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        wave, _ = soundfile.read(path)
        assert len(wave) == int(counts[utt])
        spectrum = np.abs(np.fft.rfft(wave))
        assert np.argmax(spectrum) * 16000 / len(wave) == pytest.approx(440, abs=4)
        middle = wave[1000:-1000]  # away from the resampler's edge effects
        assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.4 / np.sqrt(2), rel=0.02)


def test_format_wav_scp_names_the_bad_file(tmp_path, capsys):
    format_wav_scp = load_script("format_wav_scp")
    soundfile.write(tmp_path / "good.wav", stereo_tone(0.2, 8000), 8000)
    (tmp_path / "broken.wav").write_bytes(b"RIFF not really a wav file")
    (tmp_path / "in.scp").write_text(
        f"good {tmp_path}/good.wav\nbroken {tmp_path}/broken.wav\n")
    status = format_wav_scp.main([
        str(tmp_path / "in.scp"), "--fs", "16000", "--audio_dir", str(tmp_path / "out"),
        "--out_wav_scp", str(tmp_path / "wav.scp"),
        "--out_num_samples", str(tmp_path / "utt2num_samples"),
    ])
    assert status == 1
    error = capsys.readouterr().err
    assert "'broken'" in error and f"{tmp_path}/broken.wav" in error and "line 2" in error
    assert not (tmp_path / "wav.scp").exists()


def test_split_scp_makes_contiguous_near_equal_parts(tmp_path):
    split_scp = load_script("split_scp")
    lines = [f"u{i} x\n" for i in range(7)]
    (tmp_path / "in.scp").write_text("".join(lines))
    outputs = [str(tmp_path / f"part.{n}") for n in (1, 2, 3)]
    assert split_scp.main([str(tmp_path / "in.scp"), *outputs]) == 0
    parts = [Path(p).read_text().splitlines(keepends=True) for p in outputs]
    assert [len(p) for p in parts] == [3, 2, 2]
    assert sum(parts, []) == lines
    assert split_scp.main([str(tmp_path / "part.3"), *outputs]) == 1


# The shape slap_score writes (abridged).
def retrieval_direction(r1, r5, r10, map10, medr):
    return {"recall_at_1": r1, "recall_at_5": r5, "recall_at_10": r10, "map_at_10": map10,
            "median_rank": medr, "ranks": [1, 2], "chance": {
                "recall_at_1": 5.0, "recall_at_5": 25.0, "recall_at_10": 50.0, "map_at_10": 14.6}}


RESULTS_A = {
    "task": "retrieval",
    "n_clips": 20,
    "retrieval": {"text_to_audio": retrieval_direction(10.0, 40.5, 60.0, 20.25, 7.0),
                  "audio_to_text": retrieval_direction(12.0, 41.0, 70.0, 22.0, 3.0),
                  "n_captions": 40, "n_audio": 20},
    "captioning": {"scores": {"BLEU-4": 0.25, "METEOR": 0.125, "ROUGE-L": 0.5, "CIDEr-D": 0.0104,
                              "SPICE": {"unavailable_reason": "offline"},
                              "SPIDEr": {"unavailable_reason": "needs SPICE"}},
                   "tokenizer": "PTBTokenizer"},
}
RESULTS_B = {
    "task": "retrieval",
    "n_clips": 20,
    "retrieval": {"text_to_audio": retrieval_direction(15.0, 45.5, 65.0, 25.0, 5.0),
                  "audio_to_text": retrieval_direction(11.0, 30.0, 50.0, 18.0, 9.5),
                  "n_captions": 40, "n_audio": 20},
}
ZEROSHOT = {"task": "zeroshot", "zeroshot": {
    "top1_accuracy": 30.0, "top5_accuracy": 80.0, "mean_per_class_accuracy": 25.5,
    "chance_top1": 10.0, "chance_top5": 50.0, "n_clips": 10, "n_classes": 10}}


def write_scored_exp(exp: Path, dset: str, results: dict, captions: str = "") -> Path:
    score = exp / "inference_valid.loss.best" / dset / "score"
    score.mkdir(parents=True)
    (score / "results.json").write_text(json.dumps(results))
    (score / "results.md").write_text(f"# Retrieval on {dset}\n\n| metric | value |\n")
    if captions:
        (score.parent / "captions").write_text(captions)
    return exp


def test_compare_results_tables_side_by_side(tmp_path):
    compare_results = load_script("compare_results")
    exp_a = write_scored_exp(tmp_path / "exp_a", "test", RESULTS_A,
                             captions="u1 a dog | barks\nu2 a bell\n")
    write_scored_exp(exp_a, "zs", ZEROSHOT)
    (exp_a / "train.log").write_text(
        "1epoch results: [train] loss=3.0, time=2 minutes and 30.0 seconds, total_count=37, [valid] x\n"
        "2epoch results: [train] loss=2.0, time=1 minute and 30.0 seconds, total_count=74, [valid] x\n")
    exp_b = write_scored_exp(tmp_path / "exp_b", "test", RESULTS_B)
    write_files(tmp_path / "dump" / "test", {"text_refs": "u1 dog barking\nu1 a dog\nu2 bell\n"})
    output = tmp_path / "RESULTS.md"
    status = compare_results.main([
        "--exp_dirs", str(exp_a), str(exp_b), "--names", "full", "clap only",
        "--data_root", str(tmp_path / "dump"), "--output", str(output),
    ])
    assert status == 0
    text = output.read_text()
    lines = text.splitlines()
    assert f"| full | `{exp_a}` | 2 epochs, 74 steps, 4.0 min |" in lines
    assert f"| clap only | `{exp_b}` | n/a |" in lines
    assert "| full | 10.00 | 40.50 | 60.00 | 20.25 | 7 | 12.00 | 41.00 | 70.00 | 22.00 | 3 |" in lines
    assert "| clap only | 15.00 | 45.50 | 65.00 | 25.00 | 5 | 11.00 | 30.00 | 50.00 | 18.00 | 9.5 |" in lines
    assert "| *chance* | 5.00 | 25.00 | 50.00 | 14.60 | – | 5.00 | 25.00 | 50.00 | 14.60 | – |" in lines
    assert "| full | 0.2500 | 0.1250 | 0.5000 | 0.0104 | n/a | n/a |" in lines
    assert "SPICE n/a: offline" in lines and "SPIDEr n/a: needs SPICE" in lines
    assert "| full | 30.00 | 80.00 | 25.50 |" in lines and "| *chance* | 10.00 | 50.00 | 10.00 |" in lines
    assert (text.index("## test: retrieval") < text.index("## test: captioning")
            < text.index("## zs: zero-shot classification"))
    assert "## test: generated captions (full)" in text
    assert "| u1 | a dog \\| barks | dog barking |" in lines  # first reference, pipe escaped
    assert "generated captions (clap only)" not in text


def test_compare_results_fails_without_any_scores(tmp_path, capsys):
    compare_results = load_script("compare_results")
    status = compare_results.main(["--exp_dirs", str(tmp_path / "none"),
                                   "--output", str(tmp_path / "RESULTS.md")])
    assert status == 1
    assert "no readable" in capsys.readouterr().err
    assert not (tmp_path / "RESULTS.md").exists()


def test_make_results_md_gathers_reports(tmp_path):
    make_results_md = load_script("make_results_md")
    exp = write_scored_exp(tmp_path / "exp", "test", RESULTS_A)
    write_scored_exp(exp, "zeroshot_test", {"zeroshot": {"top1_accuracy": 50.0}})
    output = exp / "RESULTS.md"
    status = make_results_md.main(["--exp_dir", str(exp), "--train_config", "conf/x.yaml",
                                   "--model_file", "exp/valid.loss.best.pth",
                                   "--output", str(output)])
    assert status == 0
    text = output.read_text()
    assert text.startswith("# RESULTS: exp\n")
    for field in ("- date:", "- python:", "- torch:", "- espnet:", "- git commit:",
                  "- config: `conf/x.yaml`", "- model file: `exp/valid.loss.best.pth`"):
        assert field in text
    assert text.index("## inference_valid.loss.best / test") < text.index(
        "## inference_valid.loss.best / zeroshot_test")
    assert "### Retrieval on test" in text  # report headings demoted under the set heading


# ------------------------------------------------------------------------------------------
# slap.sh
# ------------------------------------------------------------------------------------------
CAPTIONS = [
    "a dog barks twice", "a church bell rings", "a woman says hello", "a piano plays a low note",
    "rain falls on a roof", "a car passes by quickly", "a bird sings in the morning",
]


def write_fixture_set(root: Path, name: str, seconds: List[float], rate: int, stereo: bool,
                      zero_shot: bool = False) -> None:
    """A data dir as local/data.sh would write it, with audio at ``rate`` Hz."""
    audio = root / "audio" / name
    audio.mkdir(parents=True)
    files: Dict[str, List[str]] = {k: [] for k in ("wav.scp", "text", "utt2spk", "utt2dur")}
    refs, labels = [], []
    for i, duration in enumerate(seconds):
        utt = f"{name}-{i:02d}"
        wave = stereo_tone(duration, rate)
        soundfile.write(audio / f"{utt}.wav", wave if stereo else wave[:, 0], rate)
        caption = CAPTIONS[i % len(CAPTIONS)]
        files["wav.scp"].append(f"{utt} {audio / utt}.wav")
        files["text"].append(f"{utt} {caption}")
        files["utt2spk"].append(f"{utt} {utt}")
        files["utt2dur"].append(f"{utt} {duration:.4f}")
        refs += [f"{utt} {caption}", f"{utt} {caption} nearby"]
        labels.append(f"{utt} {caption.split()[1]}")
    content = {k: "\n".join(v) + "\n" for k, v in files.items()}
    content["spk2utt"] = content["utt2spk"]
    if zero_shot:
        content["utt2label"] = "\n".join(labels) + "\n"
        content["labels"] = "\n".join(sorted({l.split()[1] for l in labels})) + "\n"
    else:
        content["text_refs"] = "\n".join(refs) + "\n"
    write_files(root / "fixture" / name, content)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    """A recipe dir made by setup.sh, whose local/data.sh copies generated data."""
    root = tmp_path_factory.mktemp("recipes") / "fixture" / "slap1"
    made = run([TEMPLATE / "setup.sh", root], cwd=REPO)
    assert made.returncode == 0, made.stderr
    # The running interpreter's venv instead of the checkout's tools/venv; FAKE_BIN (fake
    # commands of a test) goes before it.
    (root / "path.sh").write_text(
        f'export PATH="$PWD/utils:${{FAKE_BIN:+$FAKE_BIN:}}{VENV_BIN}:$PATH"\nexport LC_ALL=C\n')
    write_fixture_set(root, "train", [1.0, 1.2, 0.3, 1.5, 0.8, 1.1, 0.9], 8000, stereo=True)
    write_fixture_set(root, "valid", [1.0, 0.7], 16000, stereo=False)
    write_fixture_set(root, "test", [1.0, 0.6, 0.9], 8000, stereo=True)
    write_fixture_set(root, "zs", [0.7, 0.8], 16000, stereo=False, zero_shot=True)
    data_sh = root / "local" / "data.sh"
    data_sh.write_text(
        "#!/usr/bin/env bash\nset -eu\n"
        'echo "data.sh options: [$*]"\nmkdir -p data\n'
        "for s in train valid test zs; do rm -rf data/$s; cp -r fixture/$s data/$s; done\n"
    )
    data_sh.chmod(0o755)
    return root


SETS = ["--train_set", "train", "--valid_set", "valid", "--test_sets", "test",
        "--zeroshot_sets", "zs", "--nj", "2", "--nbpe", "40"]


@pytest.fixture(scope="module")
def data_prep_run(recipe) -> subprocess.CompletedProcess:
    """slap.sh stages 1-3 on the fixture corpus."""
    return run(["./slap.sh", *SETS, "--stage", "1", "--stop_stage", "3",
                "--local_data_opts", "--foo 1"], cwd=recipe, timeout=300)


@pytest.fixture(scope="module")
def token_list_run(recipe, data_prep_run) -> subprocess.CompletedProcess:
    """slap.sh stage 4 after stages 1-3 (slow: espnet2.bin.tokenize_text imports for ~15 s)."""
    assert data_prep_run.returncode == 0, data_prep_run.stdout + data_prep_run.stderr
    return run(["./slap.sh", *SETS, "--stage", "4", "--stop_stage", "4"], cwd=recipe, timeout=300)


def test_slap_help_lists_every_option(recipe):
    result = run(["./slap.sh", "--help"], cwd=recipe)
    assert result.returncode == 0
    for option in (
        "--stage", "--stop_stage", "--skip_data_prep", "--skip_train", "--skip_eval",
        "--skip_packing", "--skip_upload", "--ngpu", "--nj", "--inference_nj",
        "--gpu_inference", "--dumpdir", "--expdir", "--fs", "--min_wav_duration",
        "--max_wav_duration", "--nbpe", "--bpemode", "--train_config", "--train_args", "--tag",
        "--inference_config", "--inference_args", "--inference_model", "--train_set",
        "--valid_set", "--test_sets", "--zeroshot_sets", "--local_data_opts", "--hf_repo",
        "--stats_tag", "--num_nodes", "--audio_format", "--pretrained_model",
        "--ignore_init_mismatch", "--download_model", "--model_card_opts",
    ):
        assert f"    {option} " in result.stdout, option
    assert "[valid.loss.best.pth]" in result.stdout


def test_slap_rejects_unknown_option(recipe):
    result = run(["./slap.sh", "--no_such_option", "1"], cwd=recipe)
    assert result.returncode == 1
    assert "unknown option '--no_such_option'" in result.stderr


def test_slap_skip_flags_skip_stages(recipe):
    result = run(["./slap.sh", *SETS, "--stop_stage", "10", "--skip_data_prep", "true",
                  "--skip_train", "true", "--skip_eval", "true", "--skip_packing", "true"],
                 cwd=recipe)
    assert result.returncode == 0, result.stderr
    for stage, flag in [(1, "data_prep"), (2, "data_prep"), (3, "data_prep"), (4, "data_prep"),
                        (5, "train"), (6, "train"), (7, "eval"), (8, "eval"), (9, "packing"),
                        (10, "upload")]:
        assert re.search(rf"Stage {stage}: [^\n]*: skipped \(--skip_{flag} true\)\n", result.stdout), stage
    assert "done (took" not in result.stdout


def test_slap_skip_flag_skips_only_its_stages(recipe):
    result = run(["./slap.sh", "--train_set", "train", "--valid_set", "valid", "--tag", "none",
                  "--stage", "7", "--stop_stage", "10", "--skip_packing", "true"], cwd=recipe)
    assert result.returncode == 0, result.stderr
    # Stages 7-8 run and say that there is nothing to do; 9 and 10 are skipped.
    assert "no --test_sets and no --zeroshot_sets: nothing to infer" in result.stdout
    assert "nothing to score, no RESULTS.md written" in result.stdout
    assert re.search(r"Stage 7: [^\n]*: done", result.stdout)
    assert re.search(r"Stage 9: [^\n]*: skipped \(--skip_packing true\)", result.stdout)
    assert re.search(r"Stage 10: [^\n]*: skipped \(--skip_upload true\)", result.stdout)


def test_slap_help_after_other_options(recipe):
    result = run(["./slap.sh", "--stage", "3", "--nj", "2", "--help"], cwd=recipe)
    assert result.returncode == 0
    assert "--audio_format FMT" in result.stdout and "Stage 3:" not in result.stdout


def test_slap_from_another_directory_says_where_to_run(recipe, tmp_path):
    result = run([recipe / "slap.sh", "--stage", "3"], cwd=tmp_path)
    assert result.returncode == 1
    assert f"run slap.sh from its recipe directory" in result.stderr
    assert f"cd {recipe}" in result.stderr


def test_stage_7_on_a_read_only_exp_dir_fails_with_one_error_line(recipe, tmp_path):
    """The previous inference output cannot be removed: one "error:" line naming the folder,
    not rm's own messages. rm is replaced by one that fails as on a read-only file system
    (the tests may run as root, for whom permission bits do not stop rm)."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "rm").write_text(
        '#!/usr/bin/env bash\nfor f in "$@"; do case $f in -*) ;; *)\n'
        '  echo "rm: cannot remove \'$f/score/results.json\': Read-only file system" >&2\n'
        '  echo "rm: cannot remove \'$f/captions\': Read-only file system" >&2 ;; esac; done\n'
        'exit 1\n')
    (fake_bin / "rm").chmod(0o755)
    write_files(recipe / "dump" / "raw" / "ro_test", {"wav.scp": "u1 a.flac\n"})
    write_files(recipe / "exp" / "slap_ro", {"valid.loss.best.pth": "", "config.yaml": "{}\n"})
    previous = recipe / "exp" / "slap_ro" / "inference_valid.loss.best" / "ro_test"
    write_files(previous / "score", {"results.json": "{}"})
    env = {**shell_env(), "FAKE_BIN": str(fake_bin)}
    result = subprocess.run(["./slap.sh", "--train_set", "train", "--valid_set", "valid",
                             "--test_sets", "ro_test", "--tag", "ro", "--stage", "7",
                             "--stop_stage", "7"], cwd=recipe, env=env, text=True,
                            capture_output=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("rm:")] == []
    (error,) = [line for line in lines if "error:" in line]
    assert error == error.strip() and lines == [error]
    assert "exp/slap_ro/inference_valid.loss.best/ro_test" in error
    assert "Read-only file system" in error and "read-only" in error.split("):")[-1]


def test_stage_1_runs_local_data_sh_with_options(recipe, data_prep_run):
    assert data_prep_run.returncode == 0, data_prep_run.stdout + data_prep_run.stderr
    assert "data.sh options: [--foo 1]" in data_prep_run.stdout
    for n in (1, 2, 3):
        assert f"Stage {n}: " in data_prep_run.stdout
    assert "Stage 4: " not in data_prep_run.stdout
    assert data_prep_run.stdout.count("done (took") == 3


def test_stage_2_formats_every_set(recipe, data_prep_run):
    assert data_prep_run.returncode == 0
    for dset, n_utts in [("org/train", 7), ("org/valid", 2), ("test", 3), ("zs", 2)]:
        dump = recipe / "dump" / "raw" / dset
        counts = dict(l.split() for l in (dump / "utt2num_samples").read_text().splitlines())
        scp = dict(l.split() for l in (dump / "wav.scp").read_text().splitlines())
        assert list(scp) == sorted(scp) and len(scp) == n_utts
        for utt, path in scp.items():
            info = soundfile.info(recipe / path)
            assert (info.samplerate, info.channels, info.format) == (16000, 1, "FLAC")
            assert info.frames == int(counts[utt])
        durations = dict(l.split() for l in (dump / "utt2dur").read_text().splitlines())
        for utt, seconds in durations.items():
            assert int(counts[utt]) == round(float(seconds) * 16000)
    assert (recipe / "dump/raw/test/text_refs").read_text() == (
        recipe / "data/test/text_refs").read_text()
    assert (recipe / "dump/raw/zs/labels").read_text() == (recipe / "data/zs/labels").read_text()


def test_stage_3_filters_by_duration(recipe, data_prep_run):
    assert data_prep_run.returncode == 0
    assert "train: kept 6 of 7 utterances" in data_prep_run.stdout
    kept = (recipe / "dump/raw/train/wav.scp").read_text()
    assert "train-02 " not in kept and "train-03 " in kept
    assert "train-02" not in (recipe / "dump/raw/train/text_refs").read_text()
    assert "train-02" not in (recipe / "dump/raw/train/spk2utt").read_text()
    for dset in ("train", "valid", "test", "zs"):
        assert f"dump/raw/{dset}: OK" in data_prep_run.stdout


@pytest.mark.slow
def test_stage_4_builds_token_list(recipe, token_list_run):
    assert token_list_run.returncode == 0, token_list_run.stdout + token_list_run.stderr
    token_dir = recipe / "data" / "token_list" / "bpe_unigram40"
    tokens = (token_dir / "tokens.txt").read_text().splitlines()
    assert tokens[:2] == ["<blank>", "<unk>"] and tokens[-1] == "<sos/eos>"
    assert len(tokens) == len(set(tokens)) <= 40
    import sentencepiece

    model = sentencepiece.SentencePieceProcessor(model_file=str(token_dir / "bpe.model"))
    pieces = model.encode("a dog barks twice", out_type=str)
    assert set(pieces) <= set(tokens)


def test_slap_stage_fails_clearly_on_bad_audio(recipe, data_prep_run, tmp_path):
    assert data_prep_run.returncode == 0
    bad = recipe / "data" / "bad"
    write_files(bad, {"wav.scp": f"b1 {tmp_path}/missing.wav\n", "text": "b1 x\n"})
    result = run(["./slap.sh", "--train_set", "bad", "--valid_set", "valid", "--stage", "2",
                  "--stop_stage", "2", "--nj", "1"], cwd=recipe)
    assert result.returncode == 1
    assert f"'b1' from '{tmp_path}/missing.wav'" in result.stderr
    assert "formatting data/bad failed" in result.stderr
    assert not (recipe / "dump/raw/org/bad/wav.scp").exists()


@pytest.fixture(scope="module")
def train_run(recipe, token_list_run) -> subprocess.CompletedProcess:
    """slap.sh stages 5-6 (statistics, one epoch of the tiny model) on the fixture corpus."""
    assert token_list_run.returncode == 0, token_list_run.stdout + token_list_run.stderr
    from conftest import TINY_CONFIG

    config = {**TINY_CONFIG, "normalize": "global_mvn", "token_type": "bpe", "max_epoch": 1}
    (recipe / "conf").mkdir(exist_ok=True)
    (recipe / "conf" / "tiny.yaml").write_text(yaml.safe_dump(config))
    return run(["./slap.sh", *SETS, "--stage", "5", "--stop_stage", "6",
                "--train_config", "conf/tiny.yaml"], cwd=recipe, timeout=900)


@pytest.mark.slow
def test_stages_5_and_6_collect_stats_and_train(recipe, train_run):
    assert train_run.returncode == 0, train_run.stdout + train_run.stderr
    stats = recipe / "exp" / "slap_stats_raw_unigram40"
    feats = np.load(stats / "train" / "feats_stats.npz")
    assert feats["count"] > 0 and feats["sum"].shape == (64,)
    shapes = (stats / "train" / "speech_shape").read_text().splitlines()
    assert len(shapes) == 6
    exp = recipe / "exp" / "slap_tiny"
    assert (exp / "valid.loss.best.pth").exists()
    trained = yaml.safe_load((exp / "config.yaml").read_text())
    assert trained["normalize_conf"]["stats_file"].endswith("train/feats_stats.npz")
    assert trained["bpemodel"].endswith("bpe_unigram40/bpe.model")


@pytest.mark.slow
def test_feats_type_fbank_dumps_once_and_trains_on_the_same_features(recipe, train_run):
    """Stages 5-6 from dumped log-mels: the statistics equal those of the on-the-fly run."""
    assert train_run.returncode == 0, train_run.stdout + train_run.stderr
    result = run(["./slap.sh", *SETS, "--stage", "5", "--stop_stage", "6", "--feats_type",
                  "fbank", "--train_config", "conf/tiny.yaml", "--tag", "tiny_fbank"],
                 cwd=recipe, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for dset in ("train", "valid"):
        assert (recipe / "dump" / "fbank" / dset / "feats.scp").is_file()
    raw = np.load(recipe / "exp" / "slap_stats_raw_unigram40" / "train" / "feats_stats.npz")
    fbank_stats = recipe / "exp" / "slap_stats_fbank_unigram40" / "train"
    dumped = np.load(fbank_stats / "feats_stats.npz")
    assert dumped["count"] == raw["count"]
    np.testing.assert_allclose(dumped["sum"], raw["sum"], rtol=1e-5)
    np.testing.assert_allclose(dumped["sum_square"], raw["sum_square"], rtol=1e-5)
    frames = [line.split()[1] for line in (fbank_stats / "speech_shape").read_text().splitlines()]
    assert all(shape.endswith(",64") for shape in frames)  # (frames, bins), not samples
    exp = recipe / "exp" / "slap_tiny_fbank"
    assert (exp / "valid.loss.best.pth").exists()
    trained = yaml.safe_load((exp / "config.yaml").read_text())
    assert trained["train_data_path_and_name_and_type"][0][2] == "kaldi_ark"


@pytest.fixture(scope="module")
def packed_run(recipe, train_run) -> subprocess.CompletedProcess:
    """slap.sh stages 7-9 after training: inference, scoring, packing."""
    assert train_run.returncode == 0, train_run.stdout + train_run.stderr
    return run(["./slap.sh", *SETS, "--stage", "7", "--stop_stage", "9",
                "--train_config", "conf/tiny.yaml", "--inference_nj", "2"], cwd=recipe, timeout=900)


@pytest.mark.slow
def test_stages_7_to_9_infer_score_and_pack(recipe, packed_run, tmp_path, monkeypatch):
    result = packed_run
    assert result.returncode == 0, result.stdout + result.stderr
    for stage in (7, 8, 9):
        assert re.search(rf"Stage {stage}: .*done \(took \d+s\)", result.stdout), stage
    exp = recipe / "exp" / "slap_tiny"
    inference = exp / "inference_valid.loss.best"
    assert len((inference / "test" / "audio_embeds.scp").read_text().splitlines()) == 3
    assert len((inference / "test" / "captions").read_text().splitlines()) == 3
    results = json.loads((inference / "test" / "score" / "results.json").read_text())
    assert results["retrieval"]["n_audio"] == 3 and results["retrieval"]["n_captions"] == 6
    zeroshot = json.loads((inference / "zs" / "score" / "results.json").read_text())
    assert zeroshot["zeroshot"]["n_clips"] == 2
    report = (exp / "RESULTS.md").read_text()
    assert "Retrieval on test" in report and "Zero-shot" in report and "CIDEr-D" in report

    archive = exp / "slap_tiny_valid.loss.best.zip"  # <exp>_<model>.zip
    from espnet2_slap.inference.slap_inference import SLAPInference

    monkeypatch.chdir(recipe)  # config.yaml paths are relative to the recipe, as in ESPnet
    packed = SLAPInference.from_pretrained(str(archive), cache_dir=tmp_path)
    trained = SLAPInference(exp / "config.yaml", exp / "valid.loss.best.pth")
    wav = (recipe / "dump" / "raw" / "test" / "wav.scp").read_text().split()[1]
    np.testing.assert_array_equal(packed.embed_audio(wav), trained.embed_audio(wav))


ABSOLUTE_PATH = re.compile(r"(?<![\w.~<>-])/(?:tmp|home|root|work|Users|mnt|data|scratch|var)/")


@pytest.mark.slow
def test_packed_model_card_is_portable_and_complete(recipe, packed_run, tmp_path):
    assert packed_run.returncode == 0, packed_run.stdout + packed_run.stderr
    import socket
    import zipfile

    archive = recipe / "exp" / "slap_tiny" / "slap_tiny_valid.loss.best.zip"
    with zipfile.ZipFile(archive) as packed:
        members = set(packed.namelist())
        card = packed.read("exp/slap_tiny/README.md").decode()
        results = packed.read("exp/slap_tiny/RESULTS.md").decode()
    for text in (card, results):
        machine = [line for line in text.splitlines()
                   if str(recipe) in line or str(REPO) in line or ABSOLUTE_PATH.search(line)
                   or socket.gethostname() in line]
        assert machine == []
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):  # images travel with the card
            assert f"exp/slap_tiny/{target}" in members, target
    assert "rank_distribution.png" in card
    for needed in ("library_name: espnet2_slap", "license: cc-by-4.0", "datasets:", "## Install",
                   "## Reproduce", "## Configuration", "audio encoder: slap", "## Citation",
                   "arXiv:2601.12594", "Retrieval on test"):
        assert needed in card, needed

    # The card's Python usage example runs as written, next to the zip it names.
    snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    assert 'from_pretrained("slap_tiny_valid.loss.best.zip")' in snippet
    (tmp_path / "slap_tiny_valid.loss.best.zip").symlink_to(archive)
    wav = (recipe / "dump/raw/test/wav.scp").read_text().split()[1]
    soundfile.write(tmp_path / "dog.wav", soundfile.read(recipe / wav)[0], 16000)
    result = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, env=shell_env(),
                            text=True, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert re.search(r"\[\[\('(dog|rain|piano)', ", result.stdout), result.stdout


@pytest.mark.slow
def test_stage_10_upload_fails_loudly_and_uploads_the_card(recipe, packed_run, tmp_path):
    assert packed_run.returncode == 0, packed_run.stdout + packed_run.stderr
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    hf = fake_bin / "hf"
    record = tmp_path / "hf_args"
    hf.write_text(f'#!/usr/bin/env bash\necho "$*" > {record}\n'
                  f'cp "$5/README.md" {tmp_path}/uploaded_card.md\nexit "${{FAKE_HF_STATUS:-0}}"\n')
    hf.chmod(0o755)
    args = ["./slap.sh", *SETS, "--stage", "10", "--skip_upload", "false", "--tag", "tiny"]

    def upload(*extra, status="0"):
        env = {**shell_env(), "FAKE_HF_STATUS": status, "FAKE_BIN": str(fake_bin)}
        return subprocess.run([*args, *extra], cwd=recipe, env=env, text=True,
                              capture_output=True, timeout=300)

    failed = upload("--hf_repo", "someone/slap-tiny", status="1")
    assert failed.returncode == 1
    assert "uploading exp/slap_tiny/hf_upload to https://huggingface.co/someone/slap-tiny failed" \
        in failed.stderr
    assert "Successfully finished" not in failed.stdout
    no_repo = upload()
    assert no_repo.returncode == 1 and "--hf_repo" in no_repo.stderr

    uploaded = upload("--hf_repo", "someone/slap-tiny")
    assert uploaded.returncode == 0, uploaded.stderr
    assert record.read_text().split()[:4] == ["upload", "--repo-type", "model", "someone/slap-tiny"]
    card = (tmp_path / "uploaded_card.md").read_text()
    assert 'from_pretrained("someone/slap-tiny")' in card
    upload_dir = recipe / "exp/slap_tiny/hf_upload"
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", card):  # links from the repo root
        assert (upload_dir / target).is_file(), target
    assert (upload_dir / "meta.yaml").is_file()


@pytest.mark.slow
def test_download_model_evaluates_a_packed_model(recipe, packed_run, monkeypatch):
    assert packed_run.returncode == 0, packed_run.stdout + packed_run.stderr
    import kaldiio

    stale = recipe / "exp/slap_downloaded/inference_valid.loss.best/test/stale"
    stale.parent.mkdir(parents=True)
    stale.write_text("from an earlier run")
    args = ["./slap.sh", "--train_set", "train", "--valid_set", "valid", "--test_sets", "test",
            "--tag", "downloaded", "--inference_nj", "1",
            "--download_model", "exp/slap_tiny/slap_tiny_valid.loss.best.zip"]
    result = run([*args, "--stage", "5", "--stop_stage", "7"], cwd=recipe, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    for stage in (5, 6):
        assert re.search(rf"Stage {stage}: .*skipped \(--download_model", result.stdout), stage
    assert "removing the previous inference output exp/slap_downloaded/inference_valid.loss.best/test" \
        in result.stdout
    assert not stale.exists()
    monkeypatch.chdir(recipe)  # the scp files point into the recipe with relative paths
    downloaded = kaldiio.load_scp(str(recipe / "exp/slap_downloaded/inference_valid.loss.best/test/audio_embeds.scp"))
    trained = kaldiio.load_scp(str(recipe / "exp/slap_tiny/inference_valid.loss.best/test/audio_embeds.scp"))
    assert sorted(downloaded) == sorted(trained)
    for key in trained:
        np.testing.assert_allclose(downloaded[key], trained[key], rtol=1e-5, atol=1e-6)
    packing = run([*args, "--stage", "9", "--stop_stage", "9"], cwd=recipe)
    assert re.search(r"Stage 9: .*skipped \(--download_model", packing.stdout), packing.stdout


@pytest.mark.slow
@pytest.mark.parametrize("fs, config_fs, message", [
    ("8k", None, "the dumped audio is at 16000 Hz but --fs is 8000 Hz"),
    ("16k", 8000, "conf/fs8k.yaml: frontend_conf.fs is 8000 Hz but the audio is formatted at 16000 Hz"),
])
def test_training_refuses_a_frontend_rate_mismatch(recipe, token_list_run, fs, config_fs, message):
    assert token_list_run.returncode == 0, token_list_run.stdout + token_list_run.stderr
    from conftest import TINY_CONFIG

    config = {**TINY_CONFIG, "frontend_conf": {**TINY_CONFIG["frontend_conf"], "fs": config_fs or 16000}}
    (recipe / "conf").mkdir(exist_ok=True)
    (recipe / "conf" / "fs8k.yaml").write_text(yaml.safe_dump(config))
    result = run(["./slap.sh", *SETS, "--stage", "5", "--stop_stage", "6", "--fs", fs,
                  "--train_config", "conf/fs8k.yaml", "--stats_tag", "fs_check"], cwd=recipe)
    assert result.returncode == 1
    assert message in result.stderr
    assert not (recipe / "exp" / "slap_stats_fs_check").exists()
