"""The caption-corpus recipes egs2/{clotho,audiocaps,wavcaps}/slap1 on miniature releases.

Fast tier: shell syntax, links, and each local/data.sh against hand-counted clips and captions.
Slow tier: each recipe's stages 1-8 with a tiny model; AudioCaps and Clotho fine-tune the
packed tiny test model, and the fine-tuning run's first validation loss equals the
pretrained model's on the same data.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from caption_miniatures import (
    AUDIOCAPS_EXPECTED,
    CLOTHO_EXPECTED,
    WAVCAPS_EXPECTED,
    WAVCAPS_LONG_UTT,
    build_audiocaps,
    build_clotho,
    build_wavcaps,
    counts,
    read_table,
)

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "egs2" / "TEMPLATE" / "slap1"
VENV_BIN = Path(sys.executable).parent
RECIPES = ("clotho", "audiocaps", "wavcaps")


def shell_env(**variables) -> dict:
    env = dict(os.environ)
    for name in ("CLOTHO", "AUDIOCAPS", "WAVCAPS"):
        env.pop(name, None)
    env.update(PATH=f"{VENV_BIN}:{env['PATH']}", LC_ALL="C", HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    env.update({k: str(v) for k, v in variables.items()})
    return env


def run(args, cwd, timeout=300, **variables) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=shell_env(**variables), text=True,
                          capture_output=True, timeout=timeout)


def copy_recipe(corpus: str, dest: Path) -> Path:
    """The recipe's own files in a throw-away dir, linked to the template like the original."""
    source = REPO / "egs2" / corpus / "slap1"
    recipe = dest / corpus
    recipe.mkdir(parents=True)
    for name in ("run.sh", "db.sh", "cmd.sh", "local", "conf"):
        if (source / name).is_dir():
            shutil.copytree(source / name, recipe / name)
        else:
            shutil.copy2(source / name, recipe / name)
    for name in ("utils", "scripts", "slap.sh"):
        (recipe / name).symlink_to(TEMPLATE / name)
    (recipe / "path.sh").write_text(f'export PATH="$PWD/utils:{VENV_BIN}:$PATH"\nexport LC_ALL=C\n')
    return recipe


@pytest.mark.parametrize("corpus", RECIPES)
def test_recipe_files_and_links(corpus):
    recipe = REPO / "egs2" / corpus / "slap1"
    for name in ("run.sh", "db.sh", "path.sh", "cmd.sh", "local/data.sh"):
        assert run(["bash", "-n", recipe / name], cwd=REPO).returncode == 0, name
    for name in ("run.sh", "local/data.sh"):
        assert os.access(recipe / name, os.X_OK), name
    for name in ("utils", "scripts", "slap.sh"):
        assert os.readlink(recipe / name) == f"../../TEMPLATE/slap1/{name}"
    variables = {"clotho": ["CLOTHO"], "audiocaps": ["AUDIOCAPS"],
                 "wavcaps": ["WAVCAPS", "AUDIOCAPS", "CLOTHO"]}[corpus]
    db = (recipe / "db.sh").read_text()
    for name in variables:
        assert f"{name}=${{{name}:-}}" in db
    for config in (recipe / "conf").glob("*.yaml"):
        assert yaml.safe_load(config.read_text())["crop_seconds"] == 30.0


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    root = tmp_path_factory.mktemp("releases")
    return {"CLOTHO": build_clotho(root / "clotho", "aac"),
            "AUDIOCAPS": build_audiocaps(root / "audiocaps"),
            "WAVCAPS": build_wavcaps(root / "wavcaps")}


@pytest.mark.parametrize("corpus, variables, expected", [
    ("clotho", ["CLOTHO"], CLOTHO_EXPECTED),
    ("audiocaps", ["AUDIOCAPS"], AUDIOCAPS_EXPECTED),
    ("wavcaps", ["WAVCAPS", "AUDIOCAPS", "CLOTHO"], {
        **WAVCAPS_EXPECTED, **CLOTHO_EXPECTED, **AUDIOCAPS_EXPECTED,
        # wavcaps 4 + audiocaps_train 2 (3 captions) + clotho_development 4 (20 captions)
        "pretrain_train": (10, 27),
        # clotho_validation 2 (10) + audiocaps_val 2 (10)
        "pretrain_valid": (4, 20),
    }),
])
def test_local_data_sh_hand_counted(tmp_path, releases, corpus, variables, expected):
    recipe = copy_recipe(corpus, tmp_path)
    result = run(["local/data.sh"], cwd=recipe, **{v: releases[v] for v in variables})
    assert result.returncode == 0, result.stdout + result.stderr
    for name, clips_and_captions in expected.items():
        assert counts(recipe / "data" / name) == clips_and_captions, name
        assert (recipe / "data" / name / "utt2captions").is_file()
        check = run(["utils/validate_data_dir.sh", f"data/{name}"], cwd=recipe)
        assert check.returncode == 0, check.stdout + check.stderr
    if corpus != "clotho":
        assert "audiocaps_train: 1 of 3 clips have no audio file" in result.stderr
    if corpus == "wavcaps":
        assert WAVCAPS_LONG_UTT in read_table(recipe / "data" / "pretrain_train" / "wav.scp")
        # a variable left unset: the message names it and the layout it expects
        failed = run(["local/data.sh"], cwd=recipe, **{v: releases[v] for v in variables[1:]})
        assert failed.returncode == 1
        assert "error: WAVCAPS is not set. Set WAVCAPS in db.sh" in failed.stderr
        assert "json_files/FreeSound/fsd_final.json" in failed.stderr


# ------------------------------------------------------------------------------ slow tier
@pytest.fixture(scope="module")
def packed_tiny_model(tiny_exp, tmp_path_factory):
    """The tiny test experiment, packed as slap_pack packs a trained model."""
    from espnet2_slap.bin.slap_pack import main as pack_main

    archive = tmp_path_factory.mktemp("packed") / "tiny_packed.zip"
    cwd = os.getcwd()
    os.chdir(tiny_exp.parent)
    try:
        pack_main(["--slap_train_config", str(tiny_exp / "config.yaml"),
                   "--slap_model_file", str(tiny_exp / "model.pth"), "--outpath", str(archive)])
    finally:
        os.chdir(cwd)
    return archive


def assert_stages_done(result, stages):
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
    for stage in stages:
        assert f"Stage {stage}: " in result.stdout and "done (took" in result.stdout, stage


def retrieval_of(exp: Path, dset: str) -> dict:
    results = next(exp.glob(f"inference_*/{dset}/score/results.json"))
    return json.loads(results.read_text())["retrieval"]


FAST = ["--nj", "1", "--inference_nj", "1"]


@pytest.mark.slow
def test_wavcaps_pretraining_recipe_stages_1_to_8(tmp_path, releases):
    recipe = copy_recipe("wavcaps", tmp_path)
    # one of the two test sets, to keep the test short (the other is scored the same way)
    result = run(["./run.sh", "--train_config", "conf/train_slap_tiny.yaml", "--nbpe", "60",
                  "--test_sets", "clotho_evaluation", "--stop_stage", "8", *FAST],
                 cwd=recipe, timeout=600, **releases)
    assert_stages_done(result, range(1, 9))
    dump = recipe / "dump" / "raw" / "pretrain_train"
    assert WAVCAPS_LONG_UTT in read_table(dump / "wav.scp")  # over 30 s: kept, cropped in training
    assert (dump / "utt2captions").is_file()
    exp = recipe / "exp" / "slap_train_slap_tiny"
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert any(entry[1] == "captions" for entry in config["train_data_path_and_name_and_type"])
    assert retrieval_of(exp, "clotho_evaluation")["n_captions"] == 10


def valid_losses_of(model, args, recipe: Path) -> dict:
    """loss_clap and loss_cap of ``model`` over the run's validation iterator, weighted by
    batch size as ESPnet's reporter averages them."""
    from espnet2.train.distributed_utils import DistributedOption

    from espnet2_slap.tasks.slap import SLAPTask

    cwd = os.getcwd()
    os.chdir(recipe)
    try:
        factory = SLAPTask.build_iter_factory(args, DistributedOption(), mode="valid")
        totals, weight = {"loss_clap": 0.0, "loss_cap": 0.0}, 0
        model.eval()
        with torch.no_grad():
            for _, batch in factory.build_iter(1):
                _, stats, w = model(**batch)
                for key in totals:
                    totals[key] += float(stats[key]) * int(w)
                weight += int(w)
    finally:
        os.chdir(cwd)
    return {k: v / weight for k, v in totals.items()}


@pytest.mark.slow
def test_audiocaps_fine_tunes_the_packed_model_from_its_validation_loss(
        tmp_path, releases, packed_tiny_model, tiny_exp):
    recipe = copy_recipe("audiocaps", tmp_path)
    # learning rate 0: the first validation (after epoch 1) sees the weights as loaded
    result = run(["./run.sh", "--pretrained_model", packed_tiny_model,
                  "--train_config", "conf/finetune_slap_tiny.yaml", "--tag", "finetune",
                  "--train_args", "--optim_conf lr=0.0", "--stop_stage", "8", *FAST],
                 cwd=recipe, timeout=600, AUDIOCAPS=releases["AUDIOCAPS"])
    assert_stages_done(result, range(1, 9))
    exp = recipe / "exp" / "slap_finetune"
    pretrained = recipe / "exp" / "pretrained"
    # the pretrained model's caption tokens and statistics, not new ones from AudioCaps
    assert (pretrained / "tokens.txt").read_text() == (tiny_exp.parent / "tokens.txt").read_text()
    assert not (recipe / "data" / "token_list").exists()
    stats = np.load(pretrained / "feats_stats.npz")
    np.testing.assert_array_equal(stats["sum"], np.load(tiny_exp.parent / "stats" / "feats_stats.npz")["sum"])
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert [Path(p).as_posix() for p in config["init_param"]] == ["exp/pretrained/model.pth"]
    assert config["normalize_conf"]["stats_file"].endswith("exp/pretrained/feats_stats.npz")

    from espnet2_slap.tasks.slap import SLAPTask

    args = argparse.Namespace(**config)
    reporter = torch.load(exp / "checkpoint.pth", map_location="cpu", weights_only=False)["reporter"]
    first_valid = reporter["stats"][1]["valid"]
    model, _ = SLAPTask.build_model_from_file(tiny_exp / "config.yaml", tiny_exp / "model.pth")
    expected = valid_losses_of(model, args, recipe)
    for key, value in expected.items():
        assert first_valid[key] == pytest.approx(value, rel=1e-5), key
    assert retrieval_of(exp, "audiocaps_test")["n_captions"] == 5


@pytest.mark.slow
def test_clotho_fine_tuning_recipe_stages_1_to_8(tmp_path, releases, packed_tiny_model):
    recipe = copy_recipe("clotho", tmp_path)
    result = run(["./run.sh", "--pretrained_model", packed_tiny_model,
                  "--train_config", "conf/finetune_slap_tiny.yaml", "--stop_stage", "8", *FAST],
                 cwd=recipe, timeout=600, CLOTHO=releases["CLOTHO"])
    assert_stages_done(result, range(1, 9))
    exp = recipe / "exp" / "slap_finetune_slap_tiny"
    retrieval = retrieval_of(exp, "clotho_evaluation")
    assert (retrieval["n_audio"], retrieval["n_captions"]) == (2, 10)
    assert (exp / "RESULTS.md").is_file()


# ------------------------------------------------------------------------------ fine-tuning inputs
def test_export_pretrained_from_exp_dir_and_packed_zip(tiny_exp, packed_tiny_model, tmp_path):
    from espnet2_slap.bin.slap_export_pretrained import main as export_main

    finetune = REPO / "egs2" / "audiocaps" / "slap1" / "conf" / "finetune_slap_tiny.yaml"
    for source in (tiny_exp, packed_tiny_model):
        out = tmp_path / Path(source).stem
        assert export_main(["--pretrained_model", str(source), "--out_dir", str(out),
                            "--train_config", str(finetune)]) == 0
        assert (out / "tokens.txt").read_text() == (tiny_exp.parent / "tokens.txt").read_text()
        np.testing.assert_array_equal(np.load(out / "feats_stats.npz")["sum_square"],
                                      np.load(tiny_exp.parent / "stats" / "feats_stats.npz")["sum_square"])
        weights = torch.load(out / "model.pth", map_location="cpu")
        expected = torch.load(tiny_exp / "model.pth", map_location="cpu")
        assert weights.keys() == expected.keys()
        assert all(torch.equal(weights[k], expected[k]) for k in expected)
        assert not (out / "bpe.model").exists()  # the tiny model has character tokens


def test_fine_tuning_config_that_disagrees_is_refused_by_name(tiny_exp, tmp_path, capsys):
    from espnet2_slap.bin.slap_export_pretrained import main as export_main

    config = yaml.safe_load((REPO / "egs2/audiocaps/slap1/conf/finetune_slap_tiny.yaml").read_text())
    config.update(normalize="utterance_mvn", token_type="bpe")
    config["frontend_conf"]["n_mels"] = 80
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    assert export_main(["--pretrained_model", str(tiny_exp), "--out_dir", str(tmp_path / "out"),
                        "--train_config", str(tmp_path / "bad.yaml")]) == 1
    err = capsys.readouterr().err
    assert f"error: --train_config {tmp_path / 'bad.yaml'} does not match the pretrained model" in err
    for problem in ("normalize: 'utterance_mvn' here, 'global_mvn' pretrained",
                    "token_type: 'bpe' here, 'char' pretrained",
                    "frontend_conf.n_mels: 80 here, 64 pretrained"):
        assert problem in err
    assert export_main(["--pretrained_model", str(tmp_path / "nowhere"),
                        "--out_dir", str(tmp_path / "out")]) == 1
    assert "no such file or directory" in capsys.readouterr().err


def test_slap_sh_stage_4_takes_the_pretrained_token_list(tmp_path, tiny_exp):
    recipe = copy_recipe("clotho", tmp_path)
    result = run(["./run.sh", "--pretrained_model", tiny_exp, "--train_config",
                  "conf/finetune_slap_tiny.yaml", "--stage", "4", "--stop_stage", "4"], cwd=recipe)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (recipe / "exp/pretrained/tokens.txt").read_text() == (tiny_exp.parent / "tokens.txt").read_text()
    assert not (recipe / "data" / "token_list").exists()  # no new sentencepiece model
    (recipe / "conf" / "bad.yaml").write_text(
        (recipe / "conf" / "finetune_slap_tiny.yaml").read_text().replace("token_type: char", "token_type: bpe"))
    failed = run(["./run.sh", "--pretrained_model", tiny_exp, "--train_config", "conf/bad.yaml",
                  "--stage", "4", "--stop_stage", "4"], cwd=recipe)
    assert failed.returncode == 1
    assert "token_type: 'bpe' here, 'char' pretrained" in failed.stderr
    assert f"cannot fine-tune from --pretrained_model {tiny_exp}" in failed.stderr
