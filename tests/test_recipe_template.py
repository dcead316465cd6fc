"""The recipe template's ESPnet-style helpers and entry points (issue 15).

utils/ data-directory scripts, the cluster job runners (with fake sbatch/qsub), path.sh's
hub settings, setup.sh, run.sh's option handling, scripts/check_frontend_fs.py,
scripts/format_wav_scp.py's FLAC output, every CLI option's help text, and start-up of the
``slap`` command without NLTK.
"""

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, Sequence

import numpy as np
import pytest
import soundfile

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "egs2" / "TEMPLATE" / "slap1"
UTILS = TEMPLATE / "utils"
SCRIPTS = TEMPLATE / "scripts"
MINI_SOUNDS = REPO / "egs2" / "mini_sounds" / "slap1"
VENV_BIN = Path(sys.executable).parent
VENV_COMPLETE = (REPO / "tools" / "venv" / ".slap-install-stamp").is_file()


def shell_env(**extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(PATH=f"{VENV_BIN}:{env['PATH']}", LC_ALL="C", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run(args: Sequence, cwd: Path, env: Dict[str, str] = None, timeout: float = 120):
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env or shell_env(), text=True,
                          capture_output=True, timeout=timeout)


def load_script(name: str):
    if str(SCRIPTS) not in sys.path:  # scripts import each other, as when they are run
        sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_dir(directory: Path, files: Dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / name).write_text(content)
    return directory


def read(directory: Path, name: str) -> str:
    return (directory / name).read_text()


# ------------------------------------------------------------------------------------------
# utils/: data-directory helpers
# ------------------------------------------------------------------------------------------
def test_utt2spk_to_spk2utt_and_back(tmp_path):
    utt2spk = "a1 s2\nb1 s1\nb2 s1\nc1 s10\n"
    (tmp_path / "utt2spk").write_text(utt2spk)
    result = run([UTILS / "utt2spk_to_spk2utt.pl", "utt2spk"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "s1 b1 b2\ns10 c1\ns2 a1\n"  # byte order: s1 < s10 < s2
    (tmp_path / "spk2utt").write_text(result.stdout)
    back = run([UTILS / "spk2utt_to_utt2spk.pl", "spk2utt"], cwd=tmp_path)
    assert back.stdout == utt2spk
    (tmp_path / "bad").write_text("a1 s1 extra\n")
    bad = run([UTILS / "utt2spk_to_spk2utt.pl", "bad"], cwd=tmp_path)
    assert bad.returncode != 0 and "line 1" in bad.stderr


UNFIXED = {
    "wav.scp": "u3 /a/3.wav\nu1 /a/1.wav\nu2 /a/2.wav\nu4 /a/4.wav\n",
    "text": "u1 a dog\nu2 a bell\nu3 rain\nu5 orphan caption\n",
    "text_refs": "u1 a dog\nu1 a dog barks\nu2 a bell\nu3 rain\nu4 wind\n",
    "utt2spk": "u1 s1\nu2 s2\nu3 s1\nu4 s2\n",
    "utt2captions": 'u1 ["a dog", "a dog barks"]\nu2 ["a bell"]\nu3 ["rain"]\nu4 ["wind"]\n',
    "spk2utt": "stale\n",
    "labels": "dog\nbell\n",
}


def test_fix_data_dir_keeps_utterances_every_table_has(tmp_path):
    data = write_dir(tmp_path / "d", UNFIXED)
    result = run([UTILS / "fix_data_dir.sh", data], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # u4 has no text, u5 no audio: u1-u3 stay, sorted, with all their references.
    assert "kept 3 of 4 utterances" in result.stdout
    assert read(data, "wav.scp") == "u1 /a/1.wav\nu2 /a/2.wav\nu3 /a/3.wav\n"
    assert read(data, "text") == "u1 a dog\nu2 a bell\nu3 rain\n"
    assert read(data, "text_refs") == "u1 a dog\nu1 a dog barks\nu2 a bell\nu3 rain\n"
    assert read(data, "utt2captions").splitlines()[0] == 'u1 ["a dog", "a dog barks"]'
    assert read(data, "spk2utt") == "s1 u1 u3\ns2 u2\n"
    assert read(data, "labels") == "dog\nbell\n"
    assert read(data / ".backup", "wav.scp") == UNFIXED["wav.scp"]
    valid = run([UTILS / "validate_data_dir.sh", data], cwd=tmp_path)
    assert valid.returncode == 0, valid.stderr


def test_fix_data_dir_fails_when_nothing_is_left(tmp_path):
    data = write_dir(tmp_path / "d", {"wav.scp": "u1 /a.wav\n", "text": "u2 a caption\n"})
    result = run([UTILS / "fix_data_dir.sh", data], cwd=tmp_path)
    assert result.returncode == 1
    assert "no utterance is in every table" in result.stderr


FIXED = {
    "wav.scp": "".join(f"u{i} /a/{i}.wav\n" for i in range(10)),
    "text": "".join(f"u{i} caption {i}\n" for i in range(10)),
    "text_refs": "".join(f"u{i} caption {i}\nu{i} other {i}\n" for i in range(10)),
    "utt2spk": "".join(f"u{i} s{i % 2}\n" for i in range(10)),
}


@pytest.mark.parametrize("args, kept", [
    (["4"], ["u0", "u3", "u5", "u8"]),  # floor(i * 4 / 10) changes at i = 0, 3, 5, 8
    (["--first", "3"], ["u0", "u1", "u2"]),
    (["--last", "2"], ["u8", "u9"]),
])
def test_subset_data_dir(tmp_path, args, kept):
    src = write_dir(tmp_path / "src", FIXED)
    if args[0].startswith("--"):
        command = [UTILS / "subset_data_dir.sh", args[0], src, args[1], tmp_path / "dst"]
    else:
        command = [UTILS / "subset_data_dir.sh", src, args[0], tmp_path / "dst"]
    result = run(command, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    dst = tmp_path / "dst"
    assert [line.split()[0] for line in read(dst, "wav.scp").splitlines()] == kept
    refs = [line.split()[0] for line in read(dst, "text_refs").splitlines()]
    assert refs == [u for u in kept for _ in range(2)]
    assert run([UTILS / "validate_data_dir.sh", dst], cwd=tmp_path).returncode == 0


def test_subset_data_dir_by_utterance_list(tmp_path):
    src = write_dir(tmp_path / "src", FIXED)
    (tmp_path / "list").write_text("u7 anything\nu3\n")
    result = run([UTILS / "subset_data_dir.sh", "--utt-list", "list", src, "dst"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert read(tmp_path / "dst", "text") == "u3 caption 3\nu7 caption 7\n"
    assert read(tmp_path / "dst", "spk2utt") == "s1 u3 u7\n"


def test_copy_then_combine_data_dirs(tmp_path):
    clotho = write_dir(tmp_path / "clotho", {**FIXED, "utt2dur": "".join(f"u{i} 1.0\n" for i in range(10))})
    other = write_dir(tmp_path / "other", {"wav.scp": "u1 /b/1.wav\n", "text": "u1 a b\n",
                                            "text_refs": "u1 a b\n", "utt2spk": "u1 x\n"})
    same_ids = run([UTILS / "combine_data.sh", tmp_path / "all", clotho, other], cwd=tmp_path)
    assert same_ids.returncode == 1 and "'u1'" in same_ids.stderr and "copy_data_dir.sh" in same_ids.stderr

    copied = run([UTILS / "copy_data_dir.sh", "--utt-prefix", "b-", "--spk-prefix", "b-", other,
                  tmp_path / "other_b"], cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert read(tmp_path / "other_b", "utt2spk") == "b-u1 b-x\n"
    assert read(tmp_path / "other_b", "spk2utt") == "b-x b-u1\n"
    combined = run([UTILS / "combine_data.sh", tmp_path / "all", clotho, tmp_path / "other_b"],
                   cwd=tmp_path)
    assert combined.returncode == 0, combined.stderr
    all_dir = tmp_path / "all"
    assert read(all_dir, "wav.scp").splitlines()[0] == "b-u1 /b/1.wav"  # sorted: b- < u
    assert len(read(all_dir, "wav.scp").splitlines()) == 11
    assert len(read(all_dir, "text_refs").splitlines()) == 21
    assert not (all_dir / "utt2dur").exists()  # only one source has it
    assert "only 1 of 2 sources have utt2dur" in combined.stderr
    assert run([UTILS / "validate_data_dir.sh", all_dir], cwd=tmp_path).returncode == 0


# ------------------------------------------------------------------------------------------
# utils/slurm.pl and utils/queue.pl with fake schedulers
# ------------------------------------------------------------------------------------------
FAKE_SCHEDULER = """#!/usr/bin/env bash
# Records its arguments, then runs the job script once per array task, like the real one.
echo "$*" >> {record}
script="${{@: -1}}"
range={range_default}
prev=""
for arg in "$@"; do
    case "$prev" in --array|-t) range=${{arg%%%*}} ;; esac
    prev=$arg
done
first=${{range%[-:]*}}; last=${{range#*[-:]}}
status=0
for id in $(seq "$first" "$last"); do
    {task_var}=$id bash "$script" || status=1
done
exit $status
"""


@pytest.mark.parametrize("runner, scheduler, task_var, expected", [
    ("slurm.pl", "sbatch", "SLURM_ARRAY_TASK_ID",
     ["--wait", "--array 1-3%2", "--mem 2G", "--gres gpu:1", "--cpus-per-task 4"]),
    ("queue.pl", "qsub", "SGE_TASK_ID",
     ["-sync y", "-t 1:3", "-tc 2", "-l mem_free=2G,ram_free=2G", "-l gpu=1", "-pe smp 4"]),
])
def test_cluster_runners_submit_array_jobs(tmp_path, runner, scheduler, task_var, expected):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    record = tmp_path / "submitted"
    (fake_bin / scheduler).write_text(FAKE_SCHEDULER.format(
        record=record, task_var=task_var, range_default="1-1"))
    (fake_bin / scheduler).chmod(0o755)
    env = shell_env(PATH=f"{fake_bin}:{VENV_BIN}:{os.environ['PATH']}")
    result = run([UTILS / runner, "--mem", "2G", "--gpu", "1", "--num-threads", "4",
                  "--max-jobs-run", "2", "JOB=1:3", "log/x.JOB.log",
                  "echo", "job JOB", "|", "tr", "a-z", "A-Z"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    submitted = record.read_text()
    for option in expected:
        assert option in submitted, option
    for job in (1, 2, 3):
        log = (tmp_path / "log" / f"x.{job}.log").read_text()
        assert f"JOB {job}\n" in log and "# Ended (code 0)" in log

    failing = run([UTILS / runner, "JOB=1:2", "log/f.JOB.log", "bash", "-c", "exit $((JOB - 1))"],
                  cwd=tmp_path, env=env)
    assert failing.returncode == 1
    assert "1 / 2 failed" in failing.stderr and "log/f.2.log" in failing.stderr
    assert "log/f.1.log" not in failing.stderr


def test_cluster_runner_without_scheduler_says_so(tmp_path):
    env = shell_env(PATH=f"{VENV_BIN}:/usr/bin:/bin")
    result = run([UTILS / "slurm.pl", "x.log", "true"], cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "cannot run sbatch" in result.stderr


@pytest.mark.parametrize("backend, train_cmd", [
    ("local", "utils/run.pl"), ("slurm", "utils/slurm.pl --mem 4G"), ("sge", "utils/queue.pl --mem 4G"),
])
def test_cmd_sh_backends(backend, train_cmd):
    for cmd_sh in (TEMPLATE / "cmd.sh", MINI_SOUNDS / "cmd.sh"):
        result = run(["bash", "-c", f'. {cmd_sh}; echo "$train_cmd|$cuda_cmd"'], cwd=REPO,
                     env=shell_env(cmd_backend=backend))
        assert result.returncode == 0, result.stderr
        assert result.stdout.split("|")[0] == train_cmd
    bad = run(["bash", "-c", f". {TEMPLATE / 'cmd.sh'}"], cwd=REPO, env=shell_env(cmd_backend="pbs"))
    assert bad.returncode == 1 and "must be local, slurm or sge" in bad.stderr


# ------------------------------------------------------------------------------------------
# path.sh: the user's hub settings win; offline is the demo's default only
# ------------------------------------------------------------------------------------------
def hub_settings(path_sh: Path, recipe: Path, **env: str) -> str:
    base = {k: v for k, v in shell_env().items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    result = run(["bash", "-c", f'. {path_sh}; echo "[${{HF_HUB_OFFLINE-unset}}]'
                  f'[${{TRANSFORMERS_OFFLINE-unset}}] $MAIN_ROOT"'], cwd=recipe, env={**base, **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.skipif(not VENV_COMPLETE, reason="path.sh would install tools/venv first")
def test_path_sh_respects_the_users_hub_settings(tmp_path):
    recipe = tmp_path / "r"
    assert run([TEMPLATE / "setup.sh", recipe], cwd=REPO).returncode == 0
    template_path = recipe / "path.sh"
    assert hub_settings(template_path, recipe) == f"[unset][unset] {REPO}"
    assert hub_settings(template_path, recipe, HF_HUB_OFFLINE="1").startswith("[1][unset]")
    demo_path = MINI_SOUNDS / "path.sh"
    assert hub_settings(demo_path, MINI_SOUNDS).startswith("[1][1]")
    assert hub_settings(demo_path, MINI_SOUNDS, HF_HUB_OFFLINE="0",
                        TRANSFORMERS_OFFLINE="0").startswith("[0][0]")


def test_missing_local_model_path_is_a_missing_file(tmp_path):
    from espnet2_slap.utils.pretrained_path import resolve_pretrained_path

    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        resolve_pretrained_path(str(tmp_path / "models" / "modernbert"))
    with pytest.raises(FileNotFoundError):
        resolve_pretrained_path("./models/modernbert")
    assert resolve_pretrained_path("answerdotai/ModernBERT-base") == "answerdotai/ModernBERT-base"
    (tmp_path / "m").mkdir()
    assert resolve_pretrained_path(str(tmp_path / "m")) == str(tmp_path / "m")


# ------------------------------------------------------------------------------------------
# setup.sh and run.sh
# ------------------------------------------------------------------------------------------
def test_setup_sh_makes_a_recipe(tmp_path):
    target = tmp_path / "mycorpus" / "slap1"
    result = run([TEMPLATE / "setup.sh", target], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("slap.sh", "utils", "scripts"):
        assert (target / name).is_symlink() and (target / name).resolve() == (TEMPLATE / name).resolve()
    for name in ("path.sh", "cmd.sh", "db.sh", "run.sh", "local/data.sh", "local/data_prep_csv.py",
                 "conf/train_slap_tiny.yaml", "conf/train_slap_paper.yaml"):
        assert (target / name).is_file(), name
    assert os.access(target / "run.sh", os.X_OK) and os.access(target / "local/data.sh", os.X_OK)
    again = run([TEMPLATE / "setup.sh", target], cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_setup_sh_links_relatively_inside_the_checkout():
    target = REPO / "egs2" / "zz_setup_test" / "slap1"
    try:
        result = run([TEMPLATE / "setup.sh", "egs2/zz_setup_test/slap1"], cwd=REPO)
        assert result.returncode == 0, result.stderr
        assert os.readlink(target / "slap.sh") == "../../TEMPLATE/slap1/slap.sh"
    finally:
        subprocess.run(["rm", "-rf", str(target.parent)], check=True)


def write_csv_corpus(root: Path) -> None:
    """A CSV caption corpus as local/data_prep_csv.py expects: clips with 1-3 captions."""
    (root / "audio").mkdir(parents=True)
    rows = ["file_name,split,caption"]
    rng = np.random.default_rng(0)
    for split, count in (("train", 6), ("valid", 2), ("test", 3)):
        for i in range(count):
            name = f"{split} clip {i}.wav"  # spaces in file names, as real corpora have
            soundfile.write(root / "audio" / name, 0.1 * rng.standard_normal(8000 + 2000 * i), 8000)
            for k in range(1 + i % 3):
                rows.append(f'{name},{split},"a sound, number {i}, caption {k}"')
    (root / "captions.csv").write_text("\n".join(rows) + "\n")


@pytest.mark.slow
@pytest.mark.skipif(not VENV_COMPLETE, reason="the new recipe's path.sh needs tools/venv")
def test_setup_recipe_prepares_a_csv_corpus(tmp_path):
    recipe = tmp_path / "mycorpus" / "slap1"
    assert run([TEMPLATE / "setup.sh", recipe], cwd=tmp_path).returncode == 0
    missing = run(["./run.sh", "--stop_stage", "1"], cwd=recipe, env=shell_env(MYCORPUS=""))
    assert missing.returncode == 1 and "set MYCORPUS in db.sh" in missing.stderr
    write_csv_corpus(tmp_path / "corpus")
    result = run(["./run.sh", "--stop_stage", "3", "--nj", "2"], cwd=recipe,
                 env=shell_env(MYCORPUS=str(tmp_path / "corpus")), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    test_dir = recipe / "dump" / "raw" / "test"
    assert len(read(test_dir, "wav.scp").splitlines()) == 3
    assert len(read(test_dir, "text_refs").splitlines()) == 1 + 2 + 3
    captions = dict(line.split(" ", 1) for line in read(test_dir, "utt2captions").splitlines())
    assert sorted(len(json.loads(v)) for v in captions.values()) == [1, 2, 3]
    assert "dump/raw/train: OK (6 utterances)" in result.stdout


def test_run_sh_refuses_options_it_cannot_pass_through():
    for option in ("--train_config", "--tag", "--download_model"):
        result = run([MINI_SOUNDS / "run.sh", "--stage", "2", option, "x"], cwd=MINI_SOUNDS)
        assert result.returncode == 1
        assert f"cannot pass {option} on" in result.stderr


def test_run_sh_help_after_other_options_and_from_elsewhere(tmp_path):
    result = run(["./run.sh", "--stage", "2", "--help"], cwd=MINI_SOUNDS)
    assert result.returncode == 0
    assert "--run_ablation" in result.stdout and "--audio_format FMT" in result.stdout
    assert result.stdout.index("--run_ablation") < result.stdout.index("--audio_format FMT")
    elsewhere = run([MINI_SOUNDS / "run.sh"], cwd=tmp_path)
    assert elsewhere.returncode == 1
    assert f"cd {MINI_SOUNDS} && ./run.sh" in elsewhere.stderr


# ------------------------------------------------------------------------------------------
# scripts/
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("config, fs, dump_rate, expected", [
    ({"frontend": "default", "frontend_conf": {"n_fft": 512}}, 8000, 8000, ["--frontend_conf", "fs=8000"]),
    ({}, 16000, None, ["--frontend_conf", "fs=16000"]),
    ({"frontend_conf": {"fs": "16k"}}, 16000, 16000, []),
    ({"frontend": "s3prl", "frontend_conf": {}}, 16000, 16000, []),
])
def test_check_frontend_fs_passes_the_rate(config, fs, dump_rate, expected):
    check = load_script("check_frontend_fs")
    assert check.frontend_options(config, "c.yaml", fs, dump_rate) == expected


def test_check_frontend_fs_refuses_mismatches(tmp_path, capsys):
    check = load_script("check_frontend_fs")
    with pytest.raises(ValueError, match="c.yaml: frontend_conf.fs is 16000 Hz but the audio is formatted at 8000"):
        check.frontend_options({"frontend_conf": {"fs": 16000}}, "c.yaml", 8000, 8000)
    soundfile.write(tmp_path / "a.flac", np.zeros(800), 8000)
    (tmp_path / "wav.scp").write_text(f"a {tmp_path}/a.flac\n")
    (tmp_path / "c.yaml").write_text("frontend: default\n")
    assert check.main(["--config", str(tmp_path / "c.yaml"), "--fs", "16k",
                       "--wav_scp", str(tmp_path / "wav.scp")]) == 1
    assert "the dumped audio is at 8000 Hz but --fs is 16000 Hz" in capsys.readouterr().err
    assert check.main(["--config", str(tmp_path / "c.yaml"), "--fs", "8k",
                       "--wav_scp", str(tmp_path / "wav.scp")]) == 0
    assert capsys.readouterr().out.strip() == "--frontend_conf fs=8000"


def test_format_wav_scp_flac_holds_the_same_samples_as_wav(tmp_path):
    format_wav_scp = load_script("format_wav_scp")
    soundfile.write(tmp_path / "in.wav", 0.3 * np.sin(np.arange(24000) / 7.0), 16000)
    (tmp_path / "in.scp").write_text(f"u1 {tmp_path}/in.wav\n")
    waves = {}
    for audio_format in ("wav", "flac"):
        assert format_wav_scp.main([
            str(tmp_path / "in.scp"), "--fs", "16000", "--audio_format", audio_format,
            "--audio_dir", str(tmp_path / audio_format), "--out_wav_scp", str(tmp_path / f"{audio_format}.scp"),
            "--out_num_samples", str(tmp_path / f"{audio_format}.n"),
        ]) == 0
        path = (tmp_path / f"{audio_format}.scp").read_text().split()[1]
        assert path.endswith(f"u1.{audio_format}")
        assert soundfile.info(path).format == audio_format.upper()
        waves[audio_format] = soundfile.read(path, dtype="int16")[0]
    np.testing.assert_array_equal(waves["wav"], waves["flac"])
    assert os.path.getsize(tmp_path / "flac" / "u1.flac") < os.path.getsize(tmp_path / "wav" / "u1.wav")


def test_make_results_md_links_images_from_its_own_folder(tmp_path, monkeypatch):
    make_results_md = load_script("make_results_md")
    score = tmp_path / "exp" / "inference_best" / "test" / "score"
    score.mkdir(parents=True)
    (score / "results.md").write_text(
        f"# Retrieval on test\n\n![rank distribution](rank_distribution.png)\n"
        f"data: {tmp_path}/dump/raw/test\n")
    monkeypatch.chdir(tmp_path)
    assert make_results_md.main(["--exp_dir", "exp", "--train_config", f"{tmp_path}/conf/x.yaml",
                                 "--model_file", "exp/m.pth", "--output", "exp/RESULTS.md"]) == 0
    text = (tmp_path / "exp" / "RESULTS.md").read_text()
    assert "![rank distribution](inference_best/test/score/rank_distribution.png)" in text
    assert str(tmp_path) not in text and "config: `conf/x.yaml`" in text
    assert "data: dump/raw/test" in text and "host" not in text


# ------------------------------------------------------------------------------------------
# Command-line help and start-up
# ------------------------------------------------------------------------------------------
def bin_parsers():
    from espnet2_slap.bin import slap_cli, slap_inference, slap_pack, slap_score

    yield "slap", slap_cli.get_parser()
    for module in (slap_inference, slap_pack, slap_score):
        yield module.__name__, module.get_parser()
    for name in ("check_frontend_fs", "download_model", "format_wav_scp", "make_model_card",
                 "make_results_md", "split_scp", "compare_results", "spm_train"):
        yield name, None


def parser_actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from parser_actions(sub)
        elif not isinstance(action, argparse._HelpAction):
            yield action


def script_parser(name: str, monkeypatch) -> argparse.ArgumentParser:
    """The parser a scripts/<name>.py main() builds (captured at parse_args)."""
    module = load_script(name)
    captured = {}

    def capture(self, *args, **kwargs):
        captured["parser"] = self
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(SystemExit):
        module.main([])
    monkeypatch.undo()
    return captured["parser"]


def test_every_cli_option_has_help_text(monkeypatch):
    missing = []
    for name, parser in bin_parsers():
        if parser is None:
            parser = script_parser(name, monkeypatch)
        missing += [f"{name} {action.option_strings or action.dest}" for action in parser_actions(parser)
                    if not action.help]
    assert missing == []


def test_slap_help_starts_without_nltk_or_network():
    probe = (
        "import json, socket, sys\n"
        "attempts = []\n"
        "socket.socket.connect = lambda self, address: attempts.append(address)\n"
        "from espnet2_slap.bin.slap_cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(json.dumps({'attempts': attempts, 'loaded': sorted(m for m in ('nltk', 'g2p_en', "
        "'torch', 'espnet2') if m in sys.modules)}))\n"
    )
    result = run([sys.executable, "-c", probe], cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "[nltk_data]" not in result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"attempts": [], "loaded": []}
    assert "usage: slap" in result.stdout


def test_caption_tokenizer_matches_espnet_without_g2p(tmp_path):
    import sentencepiece

    text = tmp_path / "text.txt"
    text.write_text("a dog barks twice\na church bell rings\nrain falls on a roof\n" * 20)
    sentencepiece.SentencePieceTrainer.train(input=str(text), model_prefix=str(tmp_path / "bpe"),
                                             vocab_size=25, model_type="unigram")
    probe = (
        "import json, sys\n"
        "from espnet2_slap.text.caption_tokenizer import build_caption_tokenizer\n"
        f"bpe = build_caption_tokenizer('bpe', {str(tmp_path / 'bpe.model')!r})\n"
        "tokens = {t: build_caption_tokenizer(t, None if t != 'bpe' else bpe.model)"
        ".text2tokens('a dog barks') for t in ('bpe', 'char', 'word')}\n"
        "print(json.dumps({'g2p': 'g2p_en' in sys.modules, 'tokens': tokens}))\n"
    )
    result = run([sys.executable, "-c", probe], cwd=REPO)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["g2p"] is False
    from espnet2.text.build_tokenizer import build_tokenizer

    for token_type, tokens in report["tokens"].items():
        bpemodel = str(tmp_path / "bpe.model") if token_type == "bpe" else None
        assert tokens == build_tokenizer(token_type=token_type, bpemodel=bpemodel).text2tokens("a dog barks")


# ------------------------------------------------------------------------------------------
# One home for what both templates do (issue 18 item 7)
# ------------------------------------------------------------------------------------------
SLAP_SH = TEMPLATE / "slap.sh"
SLAPCLS_SH = REPO / "egs2" / "TEMPLATE" / "slapcls1" / "slapcls.sh"
LIB_SH = SCRIPTS / "lib.sh"
FUNCTION = re.compile(r"^(\w+)\(\) \{\n(.*?)^\}", re.M | re.S)
SYNTAX_ONLY = {"}", "{", "fi", "done", "esac", ";;", "else", "then", "do"}


def shell_functions(path: Path) -> Dict[str, str]:
    """{name: body} of the functions a shell file defines."""
    return dict(FUNCTION.findall(path.read_text()))


def logic_runs(text: str, size: int = 3) -> set:
    """Every run of ``size`` consecutive logic lines (no comments, blanks or bare keywords)."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#") and line not in SYNTAX_ONLY]
    return {tuple(lines[i:i + size]) for i in range(len(lines) - size + 1)}


def test_templates_write_their_shared_logic_once_in_lib_sh():
    lib = shell_functions(LIB_SH)
    for name in ("log", "fail", "help_requested", "show_failed_logs", "format_data_dir",
                 "threads_per_job", "fresh_dir", "run_stages", "skip_reason"):
        assert name in lib, name
    bodies = {}
    for template in (SLAP_SH, SLAPCLS_SH):
        text = template.read_text()
        assert '. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scripts/lib.sh"' in text
        own = shell_functions(template)
        assert sorted(set(own) & set(lib)) == [], template  # nothing of lib.sh redefined
        assert text.rstrip().endswith("run_stages"), template  # one driver
        bodies[template] = logic_runs("\n".join(own.values()))
    shared = bodies[SLAP_SH] & bodies[SLAPCLS_SH]
    assert shared == set(), f"written in both templates: {sorted(shared)[:3]}"


def test_template_shell_lines_fit_in_100_characters():
    long = [f"{path.relative_to(REPO)}:{number}"
            for path in sorted((REPO / "egs2" / "TEMPLATE").rglob("*"))
            if path.suffix in (".sh", ".pl") and path.is_file() and not path.is_symlink()
            for number, line in enumerate(path.read_text().splitlines(), 1) if len(line) > 100]
    assert long == []


def cls_recipe(tmp_path: Path, local_data: str, run_sh: Path = None) -> Path:
    """A classification recipe dir linked to the template, with a stub local/data.sh."""
    recipe = tmp_path / "cls1"
    (recipe / "local").mkdir(parents=True)
    for name in ("slapcls.sh", "cmd.sh", "utils", "scripts"):
        (recipe / name).symlink_to(REPO / "egs2" / "TEMPLATE" / "slapcls1" / name)
    (recipe / "path.sh").write_text(f'export PATH="$PWD/utils:{VENV_BIN}:$PATH"\nexport LC_ALL=C\n')
    data_sh = recipe / "local" / "data.sh"
    data_sh.write_text("#!/usr/bin/env bash\nset -eu\n" + local_data)
    data_sh.chmod(0o755)
    if run_sh is not None:
        (recipe / "run.sh").write_bytes(run_sh.read_bytes())
        (recipe / "run.sh").chmod(0o755)
    return recipe


def skipped_stages(output: str) -> Dict[str, str]:
    """{stage title (experiment paths elided): the flag that skipped it} from a run's log."""
    found = re.findall(r"\] Stage \d+: (.*): skipped \((--skip_\w+) true\)$", output, re.M)
    return {re.sub(r"\(exp/[^)]*\)", "(exp/...)", title): flag for title, flag in found}


def test_both_templates_have_the_same_stage_titles_and_skip_flags(tmp_path):
    slap_recipe = tmp_path / "slap1"
    assert run([TEMPLATE / "setup.sh", slap_recipe], cwd=tmp_path).returncode == 0
    (slap_recipe / "path.sh").write_text(f'export PATH="$PWD/utils:{VENV_BIN}:$PATH"\n')
    flags = ["--skip_data_prep", "true", "--skip_train", "true", "--skip_eval", "true",
             "--skip_packing", "true", "--tag", "x", "--train_set", "a", "--valid_set", "b"]
    slap = run(["./slap.sh", *flags], cwd=slap_recipe)
    cls = run(["./slapcls.sh", *flags], cwd=cls_recipe(tmp_path, ""))
    assert slap.returncode == 0 and cls.returncode == 0, slap.stderr + cls.stderr
    slap_titles, cls_titles = skipped_stages(slap.stdout), skipped_stages(cls.stdout)
    assert len(slap_titles) == 10 and len(cls_titles) == 7, (slap.stdout, cls.stdout)
    # Every stage of slapcls.sh is the same stage of slap.sh: same title, same skip flag.
    assert {title: slap_titles.get(title) for title in cls_titles} == cls_titles
    assert set(cls_titles.values()) == {"--skip_data_prep", "--skip_train", "--skip_eval",
                                        "--skip_packing"}
    assert "Successfully finished" in cls.stdout


# ------------------------------------------------------------------------------------------
# One path.sh (issue 18 item 7); local/data.sh on its own (issue 19 item 8)
# ------------------------------------------------------------------------------------------
ONE_PATH_SH = (REPO / "egs2" / "TEMPLATE" / "slap1" / "path.sh").resolve()


@pytest.mark.parametrize("recipe", sorted(p.parent for p in (REPO / "egs2").glob("*/*/path.sh")),
                         ids=lambda p: str(p.relative_to(REPO / "egs2")))
def test_every_path_sh_is_the_template_one(recipe):
    """A link to egs2/TEMPLATE/slap1/path.sh, or a small file sourcing it plus its own lines."""
    path_sh = recipe / "path.sh"
    if path_sh.resolve() == ONE_PATH_SH:
        return
    text = path_sh.read_text()
    assert "TEMPLATE/slap1/path.sh" in text and "MAIN_ROOT=" not in text, path_sh
    code = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert len(code) <= 4, code


@pytest.mark.skipif(not VENV_COMPLETE, reason="path.sh would install tools/venv first")
def test_path_sh_finds_the_checkout_from_its_own_location(tmp_path):
    """Sourced through a link from a folder outside the checkout, with no slap.sh beside it."""
    (tmp_path / "path.sh").symlink_to(ONE_PATH_SH)
    shown = run(["bash", "-c", '. ./path.sh; echo "$MAIN_ROOT $(command -v python)"'],
                cwd=tmp_path, env={**os.environ, "PATH": "/usr/bin:/bin"})
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == [str(REPO), str(REPO / "tools" / "venv" / "bin" / "python")]


def copied_recipe(source: Path, dest: Path) -> Path:
    """The recipe's own files in a throw-away dir; its links (path.sh too) point into this
    checkout like the original's."""
    recipe = dest / source.parent.name / source.name
    recipe.mkdir(parents=True)
    for entry in source.iterdir():
        if entry.is_symlink() or entry.name == "path.sh":
            (recipe / entry.name).symlink_to(entry.resolve())
        elif entry.name in ("local", "conf"):
            subprocess.run(["cp", "-r", str(entry), str(recipe / entry.name)], check=True)
        elif entry.is_file():
            (recipe / entry.name).write_bytes(entry.read_bytes())
            (recipe / entry.name).chmod(entry.stat().st_mode)
    return recipe


@pytest.mark.skipif(not VENV_COMPLETE, reason="path.sh would install tools/venv first")
@pytest.mark.parametrize("recipe, args, expected", [
    ("clotho/slap1", [], "error: CLOTHO is not set"),
    ("audiocaps/slap1", [], "error: AUDIOCAPS is not set"),
    ("wavcaps/slap1", [], "error: WAVCAPS is not set"),
    ("audioset/cls1", [], "error: AUDIOSET is not set"),
    ("esc50/cls1", [], "error: ESC50 is not set"),
    ("speechcommands/cls1", [], "error: SPEECHCOMMANDS is not set"),
    ("benchmarks/slap1", ["--corpora", "esc50"], "skip esc50: error: ESC50="),
])
def test_local_data_sh_runs_on_its_own(tmp_path, recipe, args, expected):
    """As an ESPnet user runs it before run.sh: no venv on PATH; data.sh sources path.sh, so
    the corpus module runs and says what is missing."""
    copy = copied_recipe(REPO / "egs2" / recipe, tmp_path)
    variables = ("CLOTHO", "AUDIOCAPS", "WAVCAPS", "AUDIOSET", "ESC50", "SPEECHCOMMANDS")
    env = {k: v for k, v in os.environ.items() if k not in variables + ("VIRTUAL_ENV",)}
    env["PATH"] = "/usr/bin:/bin"
    if recipe.startswith("benchmarks"):
        env["ESC50"] = str(tmp_path / "nowhere")
    result = run(["local/data.sh", *args], cwd=copy, env=env, timeout=300)
    output = result.stdout + result.stderr
    assert "ModuleNotFoundError" not in output and "command not found" not in output, output
    assert expected in output, output


# ------------------------------------------------------------------------------------------
# --local_data_opts adds to a recipe's own options (issue 19 item 7)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("recipe, args, sets, expected", [
    ("audioset", ["--full", "true"], "full_train eval", "--full true --audio_dir D"),
    ("audioset", [], "balanced_train eval", "--full false --audio_dir D"),
    ("speechcommands", ["--protocol", "12"], "sc12_train sc12_valid sc12_test",
     "--protocol 12 --audio_dir D"),
])
def test_local_data_opts_are_added_to_the_recipes_own(tmp_path, recipe, args, sets, expected):
    stub = ('echo "data.sh options: [$*]"\n'
            f'for s in {sets}; do mkdir -p data/$s; echo "u1 x.wav" > data/$s/wav.scp; '
            'echo "u1 dog" > data/$s/text; done\n')
    copy = cls_recipe(tmp_path, stub, run_sh=REPO / "egs2" / recipe / "cls1" / "run.sh")
    both = run(["./run.sh", *args, "--local_data_opts", "--audio_dir D", "--stop_stage", "1"],
               cwd=copy)
    assert both.returncode == 0, both.stdout + both.stderr
    assert f"data.sh options: [{expected}]" in both.stdout
    dashed = run(["./run.sh", "--local-data-opts", "--audio_dir D", *args, "--stop_stage", "1"],
                 cwd=copy)
    assert f"data.sh options: [{expected}]" in dashed.stdout, dashed.stdout + dashed.stderr
