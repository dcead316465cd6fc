"""tools/gpu_check.sh runs in a bare interpreter: only torch, numpy, pytest and pyyaml.

The GPU machines the check is meant for are bare (no ESPnet, no soundfile, no tools/venv, no
network). This test builds such an interpreter: a throw-away venv without system site
packages whose site-packages holds exactly torch, numpy, pytest and pyyaml and what they
require (nothing else: ``import espnet2`` and ``import soundfile`` fail in it), runs
``PYTHON=<its python> bash tools/gpu_check.sh`` there (CPU here, so the check's ``--quick``
mode), and asserts that it completes its CPU-safe parts, says there is no CUDA and exits 0.

How the venv gets its packages: by linking the installed distributions of the interpreter
running the tests (the files their RECORDs list), not by ``pip install``. pip's cache holds no
torch 2.11.0 wheel (tools/install.sh's wheels are not kept there), and installing it from
the package index means fetching torch and its CUDA libraries (several GB) in every CI run;
links take a second, need no network and give the same, exact set of packages.
"""

import importlib.metadata as metadata
import os
import re
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
BARE_PACKAGES = ["torch", "numpy", "pytest", "pyyaml"]


def requirement_closure(names):
    """The installed distributions ``names`` need, with their extras (markers evaluated)."""
    wanted, todo = {}, [(name, frozenset()) for name in names]
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        if key in wanted and extras <= wanted[key][1]:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # not installed here; an import in the check would say so
        extras = extras | (wanted[key][1] if key in wanted else frozenset())
        wanted[key] = (dist, extras)
        environments = [{"extra": ""}] + [{"extra": extra} for extra in extras]
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate(env) for env in environments):
                todo.append((req.name, frozenset(req.extras)))
    return [dist for dist, _ in wanted.values()]


def link_distributions(dists, site_packages: Path) -> int:
    """Symlink every top-level file or folder of ``dists`` (from their RECORD) into
    ``site_packages``; the number of links."""
    links = 0
    for dist in dists:
        base = Path(dist.locate_file(""))
        tops = {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in sorted(tops - {"__pycache__"}):
            source, target = base / top, site_packages / top
            if source.exists() and not os.path.lexists(target):
                target.symlink_to(source)
                links += 1
    return links


def make_bare_venv(root: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    assert link_distributions(requirement_closure(BARE_PACKAGES), Path(purelib)) > 0
    return python


def bare_environment(python: Path) -> dict:
    """The caller's environment without what would leak the test's own interpreter in."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PATH"] = f"{python.parent}:{env.get('PATH', '/usr/bin:/bin')}"
    env["PYTHON"] = str(python)
    env["CUDA_VISIBLE_DEVICES"] = ""  # the CPU path, also on a machine that has a GPU
    return env


@pytest.mark.slow
def test_gpu_check_runs_in_a_bare_venv(tmp_path):
    start = time.perf_counter()
    python = make_bare_venv(tmp_path / "bare")
    env = bare_environment(python)
    # the venv is bare: what the check must not need is not importable there
    probe = subprocess.run(
        [str(python), "-c", "import importlib.util as u, sys, torch, numpy, pytest, yaml;"
         "print(sys.prefix, torch.__version__, [m for m in ('espnet', 'espnet2', 'soundfile',"
         " 'torchaudio', 'transformers', 'espnet2_slap') if u.find_spec(m)])"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout
    assert probe.strip().endswith("[]"), probe
    assert str(tmp_path / "bare") in probe

    result = subprocess.run(
        ["bash", str(ROOT / "tools" / "gpu_check.sh")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )
    out = result.stdout + result.stderr
    seconds = time.perf_counter() - start
    print(out[-6000:])
    print(f"bare venv + gpu_check.sh: {seconds:.0f} s")
    assert result.returncode == 0, out[-4000:]

    assert "gpu_check: no CUDA device" in out
    assert "| part | check | value | bound | status |" in out
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert not [row for row in table if row.rstrip().endswith("| FAIL |")], "\n".join(table)

    def row(pattern):
        rows = [r for r in table if re.search(pattern, r)]
        assert rows, f"no row matching {pattern!r} in\n" + "\n".join(table)
        return rows

    # the CPU equivalence rows, each within its bound
    for layer in ("local", "global"):
        for kind in ("forward", "backward"):
            for check in (f"sdpa fp32 vs dense fp64, {layer}, {kind}",
                          f"sdpa bf16 vs sdpa fp32, {layer}, {kind}"):
                assert all(r.rstrip().endswith("| ok |") for r in row(re.escape(check)))
    assert all(r.rstrip().endswith("| ok |") for r in row(r"encoder bf16 \| sdpa, autocast"))
    # torch.compile: equal to eager, and no new graphs over the random packs
    assert all(r.rstrip().endswith("| ok |") for r in row(r"compiled vs eager \(sdpa, fp32"))
    assert row(r"graphs compiled in this process")[0].rstrip().endswith("| ok |")
    # the CUDA-only parts say so; the benchmark parts ran on their CPU sizes
    assert row(r"torch_varlen, flash_attn \| no CUDA: not run")
    for pattern in (r"packed / padded throughput \| \d", r"\| eager \| [\d.]+ clips/s",
                    r"activation checkpointing \| [\d.]+ clips/s",
                    r"torch.compile \| [\d.]+ clips/s", r"120 s clips .* \| [\d.]+x"):
        row(pattern)
    # no ESPnet in the venv: the whole-model part is skipped and says why
    assert row(r"whole model .* ESPnet does not import")
    assert re.search(r"gpu_check: \d+ rows, 0 out of bound, \d+ s, cuda=false", out)
