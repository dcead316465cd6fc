"""The benchmarks recipe egs2/benchmarks/slap1: prompt ensembles, the paper-shaped tables, the
data stage's skip lines, and (slow) run.sh end to end on the miniatures of every corpus."""

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import benchmark_miniatures as mini
from espnet2_slap.inference.prompts import class_text_embeddings
from espnet2_slap.metrics.paper_tables import ModelIdentity, SetStatus, render_results

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "egs2" / "benchmarks" / "slap1"
VENV_BIN = REPO / "tools" / "venv" / "bin"
VARIABLES = ("ESC50", "US8K", "GTZAN", "CREMAD", "RAVDESS", "LIBRISPEECH", "CLOTHO", "AUDIOCAPS")


# ----------------------------------------------------------------------------- prompt ensembles
def fake_embed_text(texts):
    """Deterministic unit vectors per text (``(N, 4)``)."""
    rows = []
    for text in texts:
        rng = np.random.default_rng(sum(map(ord, text)) * 7919 + len(text))
        vector = rng.standard_normal(4)
        rows.append(vector / np.linalg.norm(vector))
    return np.stack(rows).astype(np.float32)


def test_one_template_is_exactly_its_prompt_embedding():
    labels = ["dog bark", "siren"]
    got = class_text_embeddings(fake_embed_text, labels, "the sound of {label}")
    np.testing.assert_array_equal(got, fake_embed_text(["the sound of dog bark", "the sound of siren"]))


def test_ensemble_averages_over_templates_then_renormalises():
    labels = ["dog bark", "siren", "jackhammer"]
    templates = ["the sound of {label}", "{label} can be heard"]
    got = class_text_embeddings(fake_embed_text, labels, templates)
    first = fake_embed_text([f"the sound of {x}" for x in labels])
    second = fake_embed_text([f"{x} can be heard" for x in labels])
    mean = (first + second) / 2
    np.testing.assert_allclose(got, mean / np.linalg.norm(mean, axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="label"):
        class_text_embeddings(fake_embed_text, labels, ["the sound of {label}", "no placeholder"])


# ----------------------------------------------------------------------------- tables
def zeroshot_summary(top1, ensemble=None):
    summary = {"task": "zeroshot", "n_clips": 10, "zeroshot": {"top1_accuracy": top1}}
    if ensemble is not None:
        summary["zeroshot_ensemble"] = {"top1_accuracy": ensemble}
    return summary


def retrieval_summary(values, captioning=None):
    t2a, a2t = values[:3], values[3:]
    summary = {"task": "retrieval", "n_clips": 3, "retrieval": {
        "text_to_audio": dict(zip(("recall_at_1", "recall_at_5", "recall_at_10"), t2a)),
        "audio_to_text": dict(zip(("recall_at_1", "recall_at_5", "recall_at_10"), a2t)),
    }}
    if captioning is not None:
        summary["captioning"] = {"scores": captioning}
    return summary


def table_rows(markdown: str, heading: str):
    """The table rows (cells) under ``## heading``."""
    section = markdown.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return [[c.strip() for c in line.strip("|").split("|")] for line in section.splitlines()
            if line.startswith("|") and not line.startswith("| ---")]


def test_results_are_laid_out_like_the_paper_tables():
    identity = ModelIdentity("exp/m.zip", "packed archive", "ab" * 32, "config.yaml", {"Embedding dim": "16"})
    results = {
        "esc50": zeroshot_summary(61.25, 63.75),
        "gtzan": zeroshot_summary(40.0, 45.0),
        "clotho": retrieval_summary([10, 20, 30, 11, 21, 31], {
            "METEOR": 0.1234, "CIDEr-D": 0.456, "SPICE": {"unavailable_reason": "no CoreNLP jars"}}),
        "librispeech_test_clean": retrieval_summary([90, 95, 99, 91, 96, 98]),
        "audiocaps": retrieval_summary([1, 2, 3, 4, 5, 6]),  # scored without captions
    }
    statuses = [SetStatus("esc50", "ESC50", "scored", 10),
                SetStatus("us8k", "US8K", "skipped: US8K is not set")]
    prompts = {"esc50": {"template": "the sound of {label}", "ensemble": ["a", "b"], "labels": ["dog"]}}
    markdown = render_results(identity, results, statuses, prompts, "./run.sh --model exp/m.zip")
    assert "`exp/m.zip` (packed archive)" in markdown and "ab" * 32 in markdown

    table2 = {row[0]: row[1:] for row in table_rows(markdown, "Table 2")}
    assert table2["Model"] == ["ESC", "US8K", "CRD", "RAD", "GTZAN"]
    assert table2["**this model, one prompt**"] == ["61.2", "–", "–", "–", "40.0"]
    assert table2["**this model, prompt ensemble**"] == ["63.8", "–", "–", "–", "45.0"]
    assert table2["*SLAP, paper (Table 2)*"] == ["88.6", "81.6", "28.1", "26.4", "56.8"]

    table1 = {row[0]: row[1:] for row in table_rows(markdown, "Table 1")}
    assert table1["**this model**"] == ["1.0", "2.0", "3.0", "4.0", "5.0", "6.0",
                                        "10.0", "20.0", "30.0", "11.0", "21.0", "31.0"]
    assert table1["*SLAP, paper, zero-shot (Table 1)*"][:3] == ["35.1", "65.8", "76.4"]

    table3 = table_rows(markdown, "Table 3")
    assert table3[1] == ["Clotho", "**this model**", "12.3", "45.6", "n/a [1]"]
    assert table3[2][2:] == ["18.1", "43.7", "13.1"]
    assert table3[3][2:] == ["n/a [2]"] * 3  # AudioCaps scored without captions
    assert "[1] no CoreNLP jars" in markdown and "[2] no captions were generated" in markdown

    speech = {row[0]: row[1:] for row in table_rows(markdown, "Speech-content retrieval")}
    assert speech["LibriSpeech test-clean"] == ["90.0", "95.0", "99.0", "91.0", "96.0", "98.0"]
    sets = {row[0]: row[1:] for row in table_rows(markdown, "Sets")}
    assert sets["us8k"][1] == "skipped: US8K is not set"
    nothing = render_results(identity, {}, statuses, prompts, "./run.sh")
    assert table_rows(nothing, "Table 3")[1][2:] == ["–", "–", "–"]  # not scored at all


# ----------------------------------------------------------------------------- the recipe
def recipe_env(**variables):
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update({k: str(v) for k, v in variables.items()})
    env.update(PATH=f"{VENV_BIN}:{env['PATH']}", OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1")
    return env


def test_data_stage_prepares_set_variables_and_skips_the_rest(tmp_path):
    esc = mini.esc50(tmp_path / "esc")["root"]
    done = subprocess.run(
        ["local/data.sh", "--datadir", str(tmp_path / "data"), "--corpora", "esc50 us8k ravdess"],
        cwd=RECIPE, env=recipe_env(ESC50=esc, RAVDESS=tmp_path / "nowhere"),
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    log = done.stdout + done.stderr
    assert "skip us8k: US8K is not set" in log
    assert re.search(r"skip ravdess: error: RAVDESS=\S*nowhere does not exist", log)
    status = {c: (tmp_path / "data" / c / "status").read_text().strip() for c in ("esc50", "us8k", "ravdess")}
    assert status["esc50"] == f"prepared from ESC50={esc}"
    assert status["us8k"].startswith("skipped: US8K is not set")
    assert len((tmp_path / "data" / "esc50" / "esc50" / "wav.scp").read_text().splitlines()) == 5


def pack(exp: Path, archive: Path) -> Path:
    """``slap_pack`` the tiny experiment (from its parent directory, as a recipe does)."""
    subprocess.run(
        [str(VENV_BIN / "python"), "-m", "espnet2_slap.bin.slap_pack",
         "--slap_train_config", str(exp / "config.yaml"), "--slap_model_file", str(exp / "model.pth"),
         "--outpath", str(archive)],
        cwd=exp.parent, env=recipe_env(), check=True, capture_output=True, timeout=300)
    return archive


@pytest.mark.slow
def test_run_sh_writes_paper_tables_and_rescores_only_new_sets(tiny_exp, tmp_path):
    archive = pack(tiny_exp, tmp_path / "packed_model.zip")
    corpora = mini.all_corpora(tmp_path / "corpora")
    without_gtzan = {k: v for k, v in corpora.items() if k != "GTZAN"}
    command = ["./run.sh", "--model", str(archive), "--datadir", str(tmp_path / "data"),
               "--expdir", str(tmp_path / "exp")]

    first = subprocess.run(command, cwd=RECIPE, env=recipe_env(**without_gtzan), capture_output=True,
                           text=True, timeout=600)
    log = first.stdout + first.stderr
    assert first.returncode == 0, log[-3000:]
    assert "skip gtzan: GTZAN is not set" in log
    (exp,) = [p for p in (tmp_path / "exp").iterdir() if not p.name.startswith(".")]
    markdown = (exp / "RESULTS.md").read_text()
    assert str(archive) in markdown and "packed archive" in markdown

    def top1(name, key="zeroshot"):
        results = json.loads((exp / name / "score" / "results.json").read_text())
        return f"{results[key]['top1_accuracy']:.1f}"

    table2 = {row[0]: row[1:] for row in table_rows(markdown, "Table 2")}
    assert table2["**this model, one prompt**"] == [top1(s) for s in ("esc50", "us8k", "cremad", "ravdess")] + ["–"]
    assert table2["**this model, prompt ensemble**"][0] == top1("esc50", "zeroshot_ensemble")
    clotho = json.loads((exp / "clotho" / "score" / "results.json").read_text())
    table1 = {row[0]: row[1:] for row in table_rows(markdown, "Table 1")}
    assert table1["**this model**"][6] == f"{clotho['retrieval']['text_to_audio']['recall_at_1']:.1f}"
    table3 = table_rows(markdown, "Table 3")
    meteor = clotho["captioning"]["scores"]["METEOR"]
    assert table3[1][2] == (f"{100 * meteor:.1f}" if isinstance(meteor, float) else table3[1][2])
    assert table3[1][3] == f"{100 * clotho['captioning']['scores']['CIDEr-D']:.1f}"
    assert table3[3][1] == "**this model**" and table3[3][3] != "–"  # AudioCaps captioned too
    speech = {row[0]: row[1:] for row in table_rows(markdown, "Speech-content retrieval")}
    assert speech["LibriSpeech test-other"][0] != "–"
    sets = {row[0]: row[1:] for row in table_rows(markdown, "Sets")}
    assert {name: sets[name][-1] for name in ("esc50", "us8k", "cremad", "ravdess", "clotho", "audiocaps",
                                              "librispeech_test_clean", "librispeech_test_other")} == {
        "esc50": "5", "us8k": "4", "cremad": "5", "ravdess": "5", "clotho": "3", "audiocaps": "2",
        "librispeech_test_clean": "3", "librispeech_test_other": "2"}
    assert sets["gtzan"][1].startswith("skipped: GTZAN is not set")
    assert "this is a {label} song" not in markdown  # GTZAN's prompts are listed once it is scored

    esc_embeddings = exp / "esc50" / "audio_embeds.ark"
    before = esc_embeddings.stat().st_mtime_ns
    second = subprocess.run(command, cwd=RECIPE, env=recipe_env(**corpora), capture_output=True,
                            text=True, timeout=600)
    log = second.stdout + second.stderr
    assert second.returncode == 0, log[-3000:]
    assert re.search(r"^gtzan: scored \(6 clips", log, re.M)
    assert re.search(r"^esc50: cached results", log, re.M) and re.search(r"^clotho: cached results", log, re.M)
    assert esc_embeddings.stat().st_mtime_ns == before
    markdown = (exp / "RESULTS.md").read_text()
    table2 = {row[0]: row[1:] for row in table_rows(markdown, "Table 2")}
    assert table2["**this model, one prompt**"][-1] == top1("gtzan")
    assert "this is a {label} song" in markdown


@pytest.mark.slow
def test_run_sh_skips_unreadable_audio_reprepares_changed_sets_and_keeps_every_result(
        tiny_exp, tmp_path):
    archive = pack(tiny_exp, tmp_path / "packed_model.zip")
    roots = {v: Path(mini.BUILDERS[v](tmp_path / "corpora" / v.lower())["root"])
             for v in ("AUDIOCAPS", "CLOTHO", "ESC50")}
    # AudioCaps' third test clip came down as an empty file (an interrupted download)
    empty = roots["AUDIOCAPS"] / "audio" / "test" / "GOD8Bt5LfDE_100.flac"
    empty.write_bytes(b"")
    command = ["./run.sh", "--model", str(archive), "--datadir", str(tmp_path / "data"),
               "--expdir", str(tmp_path / "exp"), "--caption", "false",
               "--prompt_ensemble", "false"]

    first = subprocess.run(command + ["--corpora", "audiocaps clotho esc50"], cwd=RECIPE,
                           env=recipe_env(**roots), capture_output=True, text=True, timeout=600)
    log = first.stdout + first.stderr
    assert first.returncode == 0, log[-3000:]
    assert f"audiocaps_test: skipping {empty}: an empty file (0 bytes)" in log
    assert "audiocaps_test: 1 of 3 clips have unreadable audio and are skipped" in log
    (exp,) = [p for p in (tmp_path / "exp").iterdir() if not p.name.startswith(".")]
    sets = {row[0]: row[1:] for row in table_rows((exp / "RESULTS.md").read_text(), "Sets")}
    assert {name: (sets[name][1], sets[name][-1]) for name in ("audiocaps", "clotho", "esc50")} == {
        "audiocaps": ("scored", "2"), "clotho": ("scored", "3"), "esc50": ("scored", "5")}
    audiocaps_embeddings = (exp / "audiocaps" / "audio_embeds.ark").stat().st_mtime_ns

    # the ESC-50 clip that was missing is added to its folder; then only esc50 is asked for
    mini.tone(roots["ESC50"] / "audio" / "2-102414-D-30.wav", seconds=0.5, rate=44100, freq=910)
    second = subprocess.run(command + ["--corpora", "esc50"], cwd=RECIPE, env=recipe_env(**roots),
                            capture_output=True, text=True, timeout=600)
    log = second.stdout + second.stderr
    assert second.returncode == 0, log[-3000:]
    audio = re.escape(str(roots["ESC50"] / "audio"))
    assert re.search(rf"esc50: ESC50 changed since esc50 was prepared \({audio}: 5 -> 6 files\): "
                     r"preparing it again$", log, re.M), log[-3000:]
    assert re.search(r"^esc50: scored \(6 clips", log, re.M)
    assert re.search(r"^audiocaps: results of an earlier run shown \(not in --corpora\)", log, re.M)
    assert (exp / "audiocaps" / "audio_embeds.ark").stat().st_mtime_ns == audiocaps_embeddings
    markdown = (exp / "RESULTS.md").read_text()
    sets = {row[0]: row[1:] for row in table_rows(markdown, "Sets")}
    assert {name: (sets[name][1], sets[name][-1]) for name in ("audiocaps", "clotho", "esc50")} == {
        "audiocaps": ("scored", "2"), "clotho": ("scored", "3"), "esc50": ("scored", "6")}
    table1 = {row[0]: row[1:] for row in table_rows(markdown, "Table 1")}
    for name, column in (("audiocaps", 0), ("clotho", 6)):
        cached = json.loads((exp / name / "score" / "results.json").read_text())
        assert table1["**this model**"][column] == \
            f"{cached['retrieval']['text_to_audio']['recall_at_1']:.1f}"
    esc = json.loads((exp / "esc50" / "score" / "results.json").read_text())
    table2 = {row[0]: row[1:] for row in table_rows(markdown, "Table 2")}
    assert table2["**this model, one prompt**"][0] == f"{esc['zeroshot']['top1_accuracy']:.1f}"
    assert "- audiocaps: not in --corpora" in markdown and "- clotho: not in --corpora" in markdown


def load_driver():
    """``egs2/benchmarks/slap1/local/benchmarks.py`` as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmarks_driver", RECIPE / "local" / "benchmarks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_experiment_dir_model_is_identified_by_its_weights(tiny_exp, tmp_path):
    driver = load_driver()
    with pytest.raises(SystemExit, match=r"no valid.loss.best.pth \(weights here: model.pth"):
        driver.Model(str(tiny_exp), "valid.loss.best.pth", tmp_path, "cpu", 1000)
    model = driver.Model(str(tiny_exp), "model.pth", tmp_path, "cpu", 1000)
    assert model.identity.kind == "experiment directory"
    assert model.identity.sha256 == driver.sha256_of(tiny_exp / "model.pth")
    assert model.identity.summary["Embedding dim"] == "16"
    assert model._slap is None  # nothing is loaded until a set needs computing


def test_run_sh_needs_a_model():
    done = subprocess.run(["./run.sh"], cwd=RECIPE, env=recipe_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "give --model" in done.stderr


def test_classify_takes_a_prompt_ensemble(tiny_exp):
    from espnet2_slap.inference import SLAPInference

    slap = SLAPInference(tiny_exp / "config.yaml", tiny_exp / "model.pth")
    clip = np.sin(2 * np.pi * 300 * np.arange(8000) / 16000).astype(np.float32)
    labels, templates = ["dog bark", "siren", "rain"], ["the sound of {label}", "{label} can be heard"]
    ranked = slap.classify(clip, labels, templates, sample_rate=16000)[0]
    text = class_text_embeddings(slap.embed_text, labels, templates)
    logits = slap.logit_scale * slap.embed_audio(clip, 16000)[0] @ text.T
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert [label for label, _ in ranked] == [labels[i] for i in np.argsort(-probs, kind="stable")]
    np.testing.assert_allclose([p for _, p in ranked], np.sort(probs)[::-1], rtol=1e-5)


def test_a_set_that_fails_is_reported_and_the_others_are_scored(tmp_path, monkeypatch, capsys):
    driver = load_driver()
    from espnet2_slap.corpora import clotho, esc50

    data = tmp_path / "data"
    for corpus, module, built in (("esc50", esc50, mini.esc50(tmp_path / "esc")),
                                  ("clotho", clotho, mini.clotho(tmp_path / "clotho"))):
        argv = ["--root", str(built["root"]), "--out_dir", str(data / corpus)]
        module.main(argv + (["--splits", "evaluation"] if corpus == "clotho" else []))
        (data / corpus / "status").write_text(f"prepared from X={built['root']}\n")

    class StubModel:
        def __init__(self, *args):
            self.identity = ModelIdentity("m.zip", "packed archive", "cd" * 32, "config.yaml", {})

    def embed_set(model, name, data_path, out, options):
        if name == "clotho":
            raise RuntimeError("Error opening 'broken.wav': Format not recognised.")
        out.mkdir(parents=True, exist_ok=True)
        return "key"

    def score_set(model, name, data_path, out, key, prompts, ensemble):
        (out / "score").mkdir(parents=True, exist_ok=True)
        return zeroshot_summary(50.0), False

    monkeypatch.setattr(driver, "Model", StubModel)
    monkeypatch.setattr(driver, "embed_set", embed_set)
    monkeypatch.setattr(driver, "score_set", score_set)
    with pytest.raises(SystemExit, match=r"1 set\(s\) failed: clotho"):
        driver.main(["--model", "m.zip", "--data_dir", str(data), "--exp_dir", str(tmp_path / "exp"),
                     "--prompts", str(RECIPE / "conf" / "prompts.yaml"),
                     "--corpora", "clotho", "esc50"])
    out = capsys.readouterr()
    assert "clotho: failed: RuntimeError: Error opening 'broken.wav'" in out.out
    assert "Traceback" in out.err  # for whoever debugs it
    markdown = (tmp_path / "exp" / ("cd" * 6) / "RESULTS.md").read_text()
    sets = {row[0]: row[1:] for row in table_rows(markdown, "Sets")}
    assert sets["clotho"][1].startswith("failed: RuntimeError") and sets["esc50"][1] == "scored"
    table2 = {row[0]: row[1:] for row in table_rows(markdown, "Table 2")}
    assert table2["**this model, one prompt**"][0] == "50.0"
