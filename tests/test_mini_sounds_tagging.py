"""egs2/mini_sounds/cls1: the tagging demo over seeds, its table and its guards."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from test_cls_corpora import write_wav
from test_cls_recipes import TINY_TAGGER, make_recipe

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "egs2" / "mini_sounds" / "cls1"
sys.path.insert(0, str(RECIPE / "local"))
import make_table  # noqa: E402


def write_metrics(exp: Path, tag: str, seed: int, accuracy: float, mAP: float):
    path = exp / f"cls_{tag}_seed{seed}" / "cls_test" / "scoring" / "metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"accuracy": accuracy, "mAP": mAP, "clips": 10}))


def test_table_is_mean_and_std_over_seeds_with_verdicts(tmp_path):
    for seed, (pre, rand) in zip((1, 2, 3), ((0.30, 0.10), (0.40, 0.12), (0.35, 0.08))):
        write_metrics(tmp_path, "linear_probe_pretrained", seed, pre, 0.5)
        write_metrics(tmp_path, "linear_probe_random", seed, rand, 0.5 + seed / 10)
    write_metrics(tmp_path, "finetune_pretrained", 1, 0.2, 0.3)  # seeds 2 and 3 not run
    text = make_table.render(tmp_path, [1, 2, 3])
    rows = {tuple(c.strip() for c in line.split("|")[1:3]): [c.strip() for c in line.split("|")[3:-1]]
            for line in text.splitlines() if line.startswith("| ") and "---" not in line}
    assert rows[("linear probe", "pretrained SLAP")] == ["3", "35.0 ± 5.0", "50.0 ± 0.0", "30.0, 40.0, 35.0"]
    assert rows[("linear probe", "random init")] == ["3", "10.0 ± 2.0", "70.0 ± 10.0", "10.0, 12.0, 8.0"]
    assert rows[("fine-tuning", "pretrained SLAP")] == ["1", "20.0 ± 0.0", "30.0 ± 0.0", "20.0, –, –"]
    assert rows[("fine-tuning", "random init")][:2] == ["0", "(not run)"]
    # accuracy: 25 points apart, spread 7 -> exceeds; mAP: 20 below, spread 10 -> exceeds, below
    verdicts = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(verdicts) == 2  # the fine-tuning pair has no random runs to compare with
    assert "linear probe, test accuracy: pretrained SLAP is 25.00 above random init" in verdicts[0]
    assert "exceeds the seeds' spread (5.00 + 2.00 = 7.00)" in verdicts[0]
    assert "is 20.00 below random init" in verdicts[1] and "exceeds" in verdicts[1]


def test_table_says_when_the_gain_is_within_the_spread(tmp_path):
    for seed, (pre, rand) in zip((1, 2), ((0.30, 0.25), (0.50, 0.45))):
        write_metrics(tmp_path, "finetune_pretrained", seed, pre, 0.5)
        write_metrics(tmp_path, "finetune_random", seed, rand, 0.5)
    text = make_table.render(tmp_path, [1, 2], note="SLAP model: x")
    line = next(l for l in text.splitlines() if l.startswith("- fine-tuning, test accuracy"))
    assert "5.00 above" in line and "does not exceed" in line
    assert text.rstrip().endswith("SLAP model: x")


def copy_recipe(tmp_path: Path) -> Path:
    """egs2/mini_sounds/cls1 copied under tmp_path (links into this checkout), the tests' venv."""
    return make_recipe(tmp_path, "mini_sounds", TINY_TAGGER)


def run(recipe: Path, *args, timeout=60):
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return subprocess.run(["./run.sh", *map(str, args)], cwd=recipe, env=env, text=True,
                          capture_output=True, timeout=timeout)


def test_missing_demo_model_is_named_after_stage_0(tmp_path):
    recipe = copy_recipe(tmp_path)
    result = run(recipe, "--stage", 1)
    assert result.returncode == 1
    assert "no trained SLAP model in ../slap1/exp/slap_train_slap_tiny" in result.stderr
    assert not (recipe / "data").exists() and not (recipe / "exp").exists()


@pytest.mark.parametrize("seeds, message", [("1 x", "--seeds takes numbers, got 'x'"), (" ", "--seeds is empty")])
def test_bad_seeds_are_refused_first(tmp_path, seeds, message):
    result = run(copy_recipe(tmp_path), "--seeds", seeds)
    assert result.returncode == 1 and message in result.stderr


def fake_corpus(slap1: Path, labels=("bell", "dog bark"), per_split={"train": 3, "valid": 1, "test": 2}):
    """The files of ../slap1's corpus that local/make_sets.py reads, with generated audio."""
    (slap1 / "data" / "local").mkdir(parents=True)
    (slap1 / "data" / "zeroshot_test").mkdir()
    (slap1 / "data" / "zeroshot_test" / "labels").write_text("\n".join(labels) + "\n")
    inventory, sources = ["source_id\tlabel\twav"], ["source_id\tlabel\tsplit"]
    for label in labels:
        for split, count in per_split.items():
            for k in range(count):
                source = f"{label.replace(' ', '-')}-{split}{k}"
                wav = write_wav(slap1 / "sources" / f"{source}.wav", seconds=0.6 + 0.1 * k)
                inventory.append(f"{source}\t{label}\t{wav}")
                sources.append(f"{source}\t{label}\t{split}")
    (slap1 / "data" / "local" / "inventory.tsv").write_text("\n".join(inventory) + "\n")
    (slap1 / "data" / "local" / "sources.tsv").write_text("\n".join(sources) + "\n")


@pytest.mark.slow
def test_four_runs_of_a_seed_and_the_table(tmp_path, tiny_exp):
    recipe = copy_recipe(tmp_path)
    fake_corpus(recipe.parent / "slap1")
    (recipe / "conf" / "tag_linear_probe.yaml").write_text(
        yaml.safe_dump(dict(TINY_TAGGER, encoder_conf={"pooling": "map", "freeze": True})))
    (recipe / "conf" / "tag_finetune.yaml").write_text(yaml.safe_dump(dict(TINY_TAGGER, layer_decay=0.75)))
    # one seed keeps the slow tier short; several seeds' table is tested above
    result = run(recipe, "--pretrained_slap", tiny_exp / "model.pth", "--seeds", "3",
                 "--parallel", "true", "--audio_format", "wav", timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    assert "stage 0" not in result.stdout  # a given --pretrained_slap: no demo model is trained
    for mode in ("linear_probe", "finetune"):
        for init in ("pretrained", "random"):
            exp = recipe / "exp" / f"cls_{mode}_{init}_seed3"
            config = yaml.safe_load((exp / "config.yaml").read_text())
            assert config["seed"] == 3
            assert config["slap_init_weights"] == ("none" if init == "random" else "student")
            assert (exp / "cls_test" / "scoring" / "metrics.json").is_file()
    table = (recipe / "exp" / "RESULTS.md").read_text()
    assert table.count("| 1 |") == 4 and "accuracy per seed (3)" in table
    assert table.count("- linear probe, test") == 2 and table.count("- fine-tuning, test") == 2
