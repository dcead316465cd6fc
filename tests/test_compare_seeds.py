"""scripts/compare_seeds.py: mean and spread over seeds, validation curves, honest verdicts."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "egs2" / "TEMPLATE" / "slap1" / "scripts" / "compare_seeds.py"


def fake_exp(root: Path, name: str, r10: float, top1: float, valid_acc) -> Path:
    exp = root / name
    for dset, results in (
        ("test", {"retrieval": {"text_to_audio": {"recall_at_1": r10 / 4, "recall_at_5": r10 / 2,
                                                  "recall_at_10": r10},
                                "audio_to_text": {"recall_at_10": r10 - 1}}}),
        ("zeroshot_test", {"zeroshot": {"top1_accuracy": top1, "top5_accuracy": top1 * 2}}),
    ):
        score = exp / "inference_valid.loss.best" / dset / "score"
        score.mkdir(parents=True)
        (score / "results.json").write_text(json.dumps(results))
    lines = [f"{e}epoch results: [train] loss=1.0, time=1 minute, total_count={10 * e}, "
             f"[valid] loss=2.0, acc_t2a={acc}, acc_a2t=0.1, [att_plot] time=0.0"
             for e, acc in enumerate(valid_acc, 1)]
    (exp / "train.log").write_text("\n".join(lines) + "\n")
    return exp


def run(tmp_path, groups):
    out = tmp_path / "COMPARE.md"
    cmd = [sys.executable, str(SCRIPT), "--output", str(out)]
    for name, dirs in groups:
        cmd += ["--group", name] + [str(d) for d in dirs]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return out.read_text()


def test_means_spread_and_verdicts(tmp_path):
    full = [fake_exp(tmp_path, f"full{s}", r10, 20.0 + s, [0.1, 0.2, 0.3])
            for s, r10 in enumerate([50.0, 52.0, 54.0])]
    close = [fake_exp(tmp_path, f"close{s}", r10, 20.0 + s, [0.1, 0.15, 0.2])
             for s, r10 in enumerate([49.0, 51.0, 53.0])]
    far = [fake_exp(tmp_path, f"far{s}", r10, 5.0, [0.05, 0.05, 0.1])
           for s, r10 in enumerate([30.0, 31.0, 32.0])]
    report = run(tmp_path, [("full", full), ("close", close), ("far", far)])

    # mean and sample std of R@10: 52 ± 2 (ddof=1)
    full_row = next(line for line in report.splitlines() if line.startswith("| full |"))
    assert "52.00 ± 2.00" in full_row and "| 3 |" in full_row
    # 1 point apart with std 2 + 2: does not exceed; 21 points apart with 2 + 1: exceeds
    assert ("T→A R@10: full is 1.00 above close (52.00 vs 51.00, 3 and 3 seeds); this does "
            "not exceed the seeds' spread (2.00 + 2.00 = 4.00).") in report
    assert ("T→A R@10: full is 21.00 above far (52.00 vs 31.00, 3 and 3 seeds); this exceeds "
            "the seeds' spread (2.00 + 1.00 = 3.00).") in report
    png = tmp_path / "COMPARE_valid_curves.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "COMPARE_valid_curves.png" in report


def test_valid_curve_reads_each_epoch(tmp_path):
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import compare_seeds
    finally:
        sys.path.remove(str(SCRIPT.parent))
    exp = fake_exp(tmp_path, "e", 10.0, 1.0, [0.25, 0.5, 0.125])
    assert compare_seeds.valid_curve(exp) == [0.25, 0.5, 0.125]
    assert compare_seeds.mean_std([1.0, None, 3.0]) == (2.0, 2 ** 0.5, 2)


def test_no_scores_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(tmp_path / "C.md"),
         "--group", "x", str(tmp_path / "empty")], capture_output=True, text=True)
    assert result.returncode == 1 and "no scores found" in result.stderr
    assert not (tmp_path / "C.md").exists()
