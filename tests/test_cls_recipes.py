"""The tagging recipes end to end on miniature corpora (slow tier): data prep to scoring.

Each recipe runs from a copy of its directory whose links point into this checkout, with its
db.sh variable set in the environment, a tiny SLAP model as ``--pretrained_slap`` and a tiny
training config (1 epoch).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml


from test_cls_corpora import BALANCED_CSV, CLASS_CSV, EVAL_CSV, UNBALANCED_CSV, esc50_root, speechcommands_root, write_wav

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
LINKS = ("slapcls.sh", "cmd.sh", "utils", "scripts")

TINY_TAGGER = {
    "encoder": "slap",
    "encoder_conf": {"pooling": "map"},
    "decoder": "linear",
    "optim": "adamw",
    "optim_conf": {"lr": 1.0e-3},
    "batch_tokens": 300,
    "max_epoch": 1,
    "num_workers": 0,
    "num_att_plot": 0,
    "use_tensorboard": False,
    "best_model_criterion": [["valid", "acc", "max"]],
}


def make_recipe(tmp_path: Path, corpus: str, config: dict) -> Path:
    """A copy of egs2/<corpus>/cls1 (links resolved into this checkout) and conf/tiny.yaml."""
    source = REPO / "egs2" / corpus / "cls1"
    recipe = tmp_path / "egs2" / corpus / "cls1"
    recipe.mkdir(parents=True)
    for name in LINKS:
        (recipe / name).symlink_to((source / name).resolve())
    for name in ("run.sh", "db.sh"):
        shutil.copy(source / name, recipe / name)
    shutil.copytree(source / "local", recipe / "local")
    shutil.copytree(source / "conf", recipe / "conf")
    # The running interpreter's environment instead of the checkout's tools/venv.
    (recipe / "path.sh").write_text(f'export PATH="$PWD/utils:{VENV_BIN}:$PATH"\nexport LC_ALL=C\n')
    (recipe / "conf" / "tiny.yaml").write_text(yaml.safe_dump(config))
    return recipe


def run_recipe(recipe: Path, env_vars: dict, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **env_vars)
    result = subprocess.run(["./run.sh", *map(str, args)], cwd=recipe, env=env, text=True,
                            capture_output=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    return result


COMMON = ["--nj", 1, "--inference_nj", 1, "--audio_format", "wav"]


@pytest.mark.slow
def test_audioset_recipe_end_to_end(tmp_path, tiny_exp):
    root = tmp_path / "audioset"
    root.mkdir()
    for name, text in (("class_labels_indices.csv", CLASS_CSV), ("balanced_train_segments.csv", BALANCED_CSV),
                       ("eval_segments.csv", EVAL_CSV), ("unbalanced_train_segments.csv", UNBALANCED_CSV)):
        (root / name).write_text(text)
    for ytid in ("--PJHxphWEs", "--ZhevVpy1s", "-0BIyqJj9ZU", "-0DdlOuIFUI", "--4gqARaEJE", "--BfvyPmVMo"):
        write_wav(root / "audio" / f"Y{ytid}.wav", seconds=1.0)
    config = dict(TINY_TAGGER, model_conf={"classification_type": "multi-label", "mixup_probability": 0.5},
                  balanced_sampling=True, time_roll=True, layer_decay=0.75,
                  best_model_criterion=[["valid", "loss", "min"]])
    recipe = make_recipe(tmp_path, "audioset", config)
    run_recipe(recipe, {"AUDIOSET": str(root)}, "--train_config", "conf/tiny.yaml",
               "--pretrained_slap", tiny_exp / "model.pth", *COMMON)
    exp = recipe / "exp" / "cls_tiny"
    metrics = json.loads((exp / "cls_eval" / "scoring" / "metrics.json").read_text())
    assert metrics["clips"] == 2 and metrics["classes"] == 3 and 0.0 <= metrics["mAP"] <= 1.0
    assert (exp / "packed_model.zip").is_file() and "mAP" in (exp / "RESULTS.md").read_text()
    log = (exp / "train.log").read_text()
    assert "balanced sampling by inverse label frequency" in log and "SLAP init: loaded" in log
    scores = (exp / "cls_eval" / "score").read_text().splitlines()
    assert all(len(line.split()) == 1 + 3 for line in scores)  # every class's probability


@pytest.mark.slow
def test_esc50_recipe_cross_validation(tmp_path, tiny_exp):
    root = esc50_root(tmp_path)
    config = dict(TINY_TAGGER, model_conf={"classification_type": "multi-class"},
                  encoder_conf={"pooling": "map", "freeze": True})
    recipe = make_recipe(tmp_path, "esc50", config)
    # one fold keeps the test within the slow tier's budget; the fold cutting and the summary
    # over several folds are tested in test_cls_corpora.py and test_cls_task.py
    run_recipe(recipe, {"ESC50": str(root)}, "--train_config", "conf/tiny.yaml", "--folds", "5",
               "--pretrained_slap", tiny_exp / "model.pth", "--stop_stage", 6, *COMMON)
    assert sorted(p.name for p in (recipe / "dump" / "raw").iterdir() if "fold" in p.name) == [
        f"esc50_fold{k}_{part}" for k in range(1, 6) for part in ("test", "train")]
    fold5 = json.loads((recipe / "exp" / "cls_tiny_fold5" / "cls_esc50_fold5_test" / "scoring" / "metrics.json").read_text())
    assert fold5["clips"] == 1 and fold5["classes"] == 2  # fold 5's chirping_birds clip is missing
    summary = json.loads((recipe / "exp" / "cv_tiny" / "metrics.json").read_text())
    assert list(summary["folds"].values()) == [fold5["accuracy"]] and summary["mean"] == fold5["accuracy"]
    assert "mean" in (recipe / "exp" / "RESULTS_cv.md").read_text()


@pytest.mark.slow
def test_speechcommands_recipe_end_to_end(tmp_path, tiny_exp):
    root = speechcommands_root(tmp_path)
    config = dict(TINY_TAGGER, model_conf={"classification_type": "multi-class"})
    recipe = make_recipe(tmp_path, "speechcommands", config)
    run_recipe(recipe, {"SPEECHCOMMANDS": str(root)}, "--train_config", "conf/tiny.yaml",
               "--pretrained_slap", tiny_exp / "model.pth", "--stop_stage", 6, *COMMON)
    metrics = json.loads((recipe / "exp" / "cls_tiny" / "cls_test" / "scoring" / "metrics.json").read_text())
    assert metrics["clips"] == 3 and metrics["classes"] == 3
    assert (recipe / "exp" / "cls_tiny" / "valid.acc.best.pth").exists()
