"""Issue 25: ``--help`` only prints help, in every recipe and template script; reports that a user
may share name no absolute path of the machine they were made on.

The help test globs ``egs2/*/*/run.sh``, so a new recipe is covered without editing this file.
Each run gets 10 s; past that its whole process group is killed, so a run.sh that starts a
stage instead of printing help cannot leave jobs behind.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Sequence, Set

import pytest

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "egs2" / "TEMPLATE" / "slap1"
SCRIPTS = TEMPLATE / "scripts"
VENV_BIN = Path(sys.executable).parent
RECIPES = sorted(path.parent for path in (REPO / "egs2").glob("*/*/run.sh"))
HELP_SECONDS = 10


def recipe_id(path: Path) -> str:
    return str(path.relative_to(REPO / "egs2"))


def tree(directory: Path) -> Set[str]:
    """Every file, folder and link below ``directory`` (links are not followed)."""
    found = set()
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(root, name), directory))
    return found


def run_limited(args: Sequence[str], cwd: Path, env=None) -> subprocess.CompletedProcess:
    """``args`` in a session of its own, killed with everything it started after 10 s."""
    process = subprocess.Popen([str(a) for a in args], cwd=cwd, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=HELP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{' '.join(map(str, args))} in {cwd} ran over {HELP_SECONDS} s "
                    f"(it did more than print help):\n{stdout[-2000:]}{stderr[-2000:]}")
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def usage_lines(text: str) -> List[str]:
    return [line for line in text.splitlines() if line.startswith("Usage: ")]


@pytest.mark.parametrize("args", [["--help"], ["--stage", "3", "-h"]], ids=["help", "late-h"])
@pytest.mark.parametrize("recipe", RECIPES, ids=recipe_id)
def test_run_sh_help_only_prints_help(recipe, args):
    before = tree(recipe)
    start = time.monotonic()
    result = run_limited(["./run.sh", *args], cwd=recipe)
    seconds = time.monotonic() - start
    assert result.returncode == 0, result.stdout + result.stderr
    assert seconds < HELP_SECONDS
    usages = usage_lines(result.stdout)
    # The recipe's own usage comes first, then the template's (slap.sh or slapcls.sh).
    assert usages and usages[0].startswith("Usage: ./run.sh"), result.stdout[:500]
    templates = [name for name in ("slap.sh", "slapcls.sh") if (recipe / name).exists()]
    if templates:
        template = "slapcls.sh" if "slapcls.sh" in templates else "slap.sh"
        assert [u.split()[1] for u in usages] == ["./run.sh", f"./{template}"], usages
        assert "--skip_data_prep BOOL" in result.stdout  # the template's options, in full
    assert not re.search(r"^\S+ \[(run|slap|slapcls)\.sh\] ", result.stdout, re.M), \
        "a stage or log line was printed"
    assert "set -euo pipefail" not in result.stdout
    assert result.stderr == ""
    assert tree(recipe) - before == set()


@pytest.mark.parametrize("script, args", [
    (TEMPLATE / "slap.sh", ["--help"]),
    (TEMPLATE / "slap.sh", ["--nj", "2", "-h"]),
    (REPO / "egs2" / "TEMPLATE" / "slapcls1" / "slapcls.sh", ["--help"]),
    (REPO / "egs2" / "TEMPLATE" / "slapcls1" / "slapcls.sh", ["--stage", "2", "--help"]),
    (TEMPLATE / "setup.sh", ["--help"]),
    (TEMPLATE / "setup.sh", ["egs2/x/slap1", "--help"]),
], ids=["slap", "slap-late", "slapcls", "slapcls-late", "setup", "setup-late"])
def test_template_scripts_print_help_first(tmp_path, script, args):
    """From a folder that is no recipe: help needs nothing of a recipe, and comes first."""
    result = run_limited([script, *args], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"Usage: {script}"), result.stdout[:300]
    assert result.stderr == ""
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------
# Reports name no path of the machine
# ------------------------------------------------------------------------------------------
# An absolute path: a '/' that starts a word, followed by a name and another '/'.
ABSOLUTE_PATH = re.compile(r"(?<![\w.~<>-])/[\w.+-]+/")


def machine_paths(text: str, recipe: Path) -> List[str]:
    local = [str(recipe), str(REPO), sys.prefix, str(Path.home())]
    return [line for line in text.splitlines()
            if ABSOLUTE_PATH.search(line) or any(path in line for path in local)]


def scored_experiment(exp: Path, reason: str) -> None:
    """What slap_score leaves in an experiment: results.json and results.md of one set."""
    score = exp / "inference_valid.loss.best" / "test" / "score"
    score.mkdir(parents=True)
    retrieval = {"recall_at_1": 10.0, "recall_at_5": 40.0, "recall_at_10": 60.0,
                 "map_at_10": 20.0, "median_rank": 7.0,
                 "chance": {"recall_at_1": 5.0, "recall_at_5": 25.0, "recall_at_10": 50.0,
                            "map_at_10": 14.6}}
    results = {"task": "retrieval", "n_clips": 2,
               "retrieval": {"text_to_audio": retrieval, "audio_to_text": retrieval,
                             "n_captions": 4, "n_audio": 2},
               "captioning": {"scores": {"BLEU-4": 0.1, "METEOR": 0.1, "ROUGE-L": 0.2,
                                         "CIDEr-D": 0.05, "SPICE": {"unavailable_reason": reason},
                                         "SPIDEr": {"unavailable_reason": f"needs SPICE: {reason}"}}}}
    (score / "results.json").write_text(json.dumps(results))
    (score / "results.md").write_text(f"# Retrieval on test\n\n| SPICE | n/a ({reason}) |\n")
    (score.parent / "captions").write_text("u1 a dog barks\n")


def test_comparison_and_experiment_reports_hold_no_absolute_path(tmp_path):
    """As the demo writes them: from the recipe directory, on results whose SPICE reason names
    the virtualenv (pycocoevalcap's jar folder) and the recipe."""
    recipe = tmp_path / "recipe"
    spice_dir = Path(sys.prefix) / "lib" / "python3.11" / "site-packages" / "pycocoevalcap"
    reason = (f"Stanford CoreNLP jars stanford-corenlp-3.6.0.jar are missing from "
              f"{spice_dir}/spice/lib; not attempted (offline)")
    for name in ("slap_a", "slap_b"):
        scored_experiment(recipe / "exp" / name, reason)
    (recipe / "dump" / "raw" / "test").mkdir(parents=True)
    (recipe / "dump" / "raw" / "test" / "text").write_text("u1 a dog barking\n")
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}", MAIN_ROOT=str(REPO))

    def script(name, *args):
        done = subprocess.run([sys.executable, SCRIPTS / f"{name}.py", *map(str, args)], cwd=recipe,
                              env=env, text=True, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr

    reports = []
    for name in ("slap_a", "slap_b"):
        exp = recipe / "exp" / name
        script("make_results_md", "--exp_dir", f"exp/{name}", "--train_config", "conf/x.yaml",
               "--model_file", f"exp/{name}/valid.loss.best.pth", "--output", f"exp/{name}/RESULTS.md")
        reports.append(exp / "RESULTS.md")
    # Absolute experiment folders too, as a user may pass them.
    script("compare_results", "--exp_dirs", recipe / "exp" / "slap_a", "exp/slap_b",
           "--names", "SLAP", "CLAP only", "--data_root", "dump/raw", "--output", "exp/RESULTS.md")
    reports.append(recipe / "exp" / "RESULTS.md")
    for report in reports:
        text = report.read_text()
        assert "SPICE" in text and "missing from" in text, report
        assert machine_paths(text, recipe) == [], report
    comparison = reports[-1].read_text()
    assert "SPICE n/a: Stanford CoreNLP jars stanford-corenlp-3.6.0.jar are missing from " \
           "<python>/lib/python3.11/site-packages/pycocoevalcap/spice/lib" in comparison
    assert "| SLAP | `exp/slap_a` |" in comparison
