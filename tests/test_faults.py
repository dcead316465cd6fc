"""Result files survive a full disk: a writer that fails half-way leaves the previous file.

The failure is simulated below every writer: ``io.open``/``open`` are wrapped so that writes
to the chosen file (or its temporary name) raise ENOSPC after ``budget`` characters, as a
full disk does; what was written before stays on disk, as it would. Writing in place then
leaves a truncated file; writing through a temporary name leaves the old one.
"""

import builtins
import errno
import importlib.util
import io
import json
import os
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile

from espnet2_slap.bin import slap_cli, slap_inference, slap_pack, slap_score
from espnet2_slap.inference.embedding_index import EmbeddingIndex

SCRIPTS = Path(__file__).resolve().parents[1] / "egs2" / "TEMPLATE" / "slap1" / "scripts"


class _FillingFile:
    """A file whose writes raise ENOSPC once ``budget`` characters are written."""

    def __init__(self, handle, budget: int):
        self._handle, self._left = handle, budget

    def write(self, data):
        if len(data) > self._left:
            self._handle.write(data[: self._left])
            self._handle.flush()
            self._left = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._left -= len(data)
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __iter__(self):
        return iter(self._handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._handle.close()


@pytest.fixture
def disk_full(monkeypatch):
    """``disk_full(folder, name, budget)``: from now on, writing a file under ``folder`` whose
    name contains ``name`` (also a temporary ``.name.XXX.partial``) fails after ``budget``
    characters; returns the list of paths that failed."""
    real_open = io.open
    failed = []

    def install(folder: Path, name: str, budget: int = 100):
        folder = Path(folder).resolve()

        def filling_open(file, mode="r", *args, **kwargs):
            handle = real_open(file, mode, *args, **kwargs)
            if not any(m in mode for m in "wax+"):
                return handle
            path = os.readlink(f"/proc/self/fd/{file}") if isinstance(file, int) else file
            path = Path(os.fsdecode(path)).resolve()
            if folder in path.parents and name in path.name:
                failed.append(path)
                return _FillingFile(handle, budget)
            return handle

        monkeypatch.setattr(io, "open", filling_open)
        monkeypatch.setattr(builtins, "open", filling_open)
        return failed

    return install


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` (hidden ones too) -> its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def load_script(name: str, monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))  # the scripts import each other
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scored_exp(root: Path) -> Path:
    """An experiment with one scored set, as stage 8 leaves it, and an old RESULTS.md."""
    exp = root / "exp" / "slap_x"
    score = exp / "inference_best" / "test" / "score"
    score.mkdir(parents=True)
    rows = "".join(f"| R@{k} | {k / 3:.2f} |\n" for k in range(1, 200))
    table = f"| metric | value |\n|---|---:|\n{rows}"
    (score / "results.md").write_text(f"# Retrieval on test\n\n{table}")
    (score / "results.json").write_text(json.dumps(
        {"task": "zeroshot", "zeroshot": {"top1_accuracy": 50.0, "chance_top1": 10.0,
                                          "top5_accuracy": 90.0, "chance_top5": 50.0}}))
    (exp / "RESULTS.md").write_text("# RESULTS: the previous run\n")
    (exp / "config.yaml").write_text("frontend: default\naudio_encoder: slap\nmax_epoch: 3\n")
    return exp


def test_results_md_survives_a_full_disk(tmp_path, monkeypatch, disk_full):
    make_results_md = load_script("make_results_md", monkeypatch)
    exp = scored_exp(tmp_path)
    before = snapshot(exp)
    failed = disk_full(exp, "RESULTS.md")
    with pytest.raises(OSError, match="No space left"):
        make_results_md.main(["--exp_dir", str(exp), "--train_config", "conf/x.yaml",
                              "--model_file", "m.pth", "--output", str(exp / "RESULTS.md")])
    assert failed, "the write was not reached"
    assert snapshot(exp) == before  # the old RESULTS.md, and no temporary file left


def test_comparison_and_model_card_survive_a_full_disk(tmp_path, monkeypatch, disk_full):
    compare_results = load_script("compare_results", monkeypatch)
    make_model_card = load_script("make_model_card", monkeypatch)
    exp = scored_exp(tmp_path)
    (exp.parent / "RESULTS.md").write_text("# the previous comparison\n")
    (exp / "README.md").write_text("# the previous model card\n")
    before = snapshot(exp.parent)
    failed = disk_full(exp.parent, ".md")
    with pytest.raises(OSError, match="No space left"):
        compare_results.main(["--exp_dirs", str(exp), "--output", str(exp.parent / "RESULTS.md")])
    with pytest.raises(OSError, match="No space left"):
        make_model_card.main(["--exp_dir", str(exp), "--model_file", "m.pth",
                              "--model_tag", "x.zip", "--output", str(exp / "README.md"),
                              "--repo_url", "https://x"])
    assert len(failed) == 2
    assert snapshot(exp.parent) == before


def tone(seconds, freq, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    lines = []
    for i, (freq, label) in enumerate([(220, "dog"), (440, "bell"), (880, "piano")]):
        soundfile.write(root / f"u{i}.wav", tone(1.0 + i, freq), 16000)
        lines.append((f"u{i} {root}/u{i}.wav", f"u{i} a {label}", f"u{i} {label}"))
    for index, name in enumerate(["wav.scp", "text", "utt2label"]):
        (root / name).write_text("".join(f"{line[index]}\n" for line in lines))
    (root / "labels").write_text("dog\nbell\npiano\n")
    return root


def model_args(exp):
    return ["--slap_train_config", str(exp / "config.yaml"),
            "--slap_model_file", str(exp / "model.pth")]


@pytest.fixture(scope="module")
def inference_dir(tiny_exp, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("inference")
    slap_inference.main([*model_args(tiny_exp), "--data_path_and_name_and_type",
                         f"{data_dir}/wav.scp,speech,sound", "--output_dir", str(out),
                         "--caption", "false"])
    return out


@pytest.mark.parametrize("task, target", [
    ("zeroshot", "results.json"), ("zeroshot", "results.md"), ("retrieval", "rank_distribution"),
])
def test_scores_survive_a_full_disk(tiny_exp, data_dir, inference_dir, tmp_path, disk_full,
                                    task, target):
    score = tmp_path / "score"
    argv = ["--task", task, *model_args(tiny_exp), "--data_dir", str(data_dir),
            "--inference_dir", str(inference_dir), "--output_dir", str(score),
            "--labels", str(data_dir / "labels")]
    slap_score.main(argv)
    for path in score.iterdir():  # the previous run's files, told apart from a new run's
        path.write_bytes(path.read_bytes() + b"\n(previous run)\n")
    before = snapshot(score)
    failed = disk_full(score, target)
    with pytest.raises(OSError, match="No space left"):
        slap_score.main(argv)
    assert failed, "the write was not reached"
    after = snapshot(score)
    assert set(after) == set(before)  # no temporary file left
    assert [after[n] for n in after if target in n] == [before[n] for n in before if target in n]


def test_embeddings_survive_a_full_disk(tiny_exp, data_dir, inference_dir, tmp_path, disk_full):
    out = tmp_path / "inference"
    out.mkdir()
    for name in ("audio_embeds.ark", "audio_embeds.scp"):
        (out / name).write_bytes((inference_dir / name).read_bytes())
    before = snapshot(out)
    failed = disk_full(out, "audio_embeds.ark", budget=200)
    argv = [*model_args(tiny_exp), "--data_path_and_name_and_type",
            f"{data_dir}/wav.scp,speech,sound", "--output_dir", str(out), "--caption", "false"]
    with pytest.raises(OSError, match="No space left"):
        slap_inference.main(argv)
    assert failed, "the write was not reached"
    assert snapshot(out) == before  # the old pair, still consistent
    old = kaldiio.load_scp(str(out / "audio_embeds.scp"))
    assert sorted(old) == ["u0", "u1", "u2"]


def test_packed_model_survives_a_full_disk(tiny_exp, tmp_path, monkeypatch, disk_full):
    monkeypatch.chdir(tiny_exp.parent)
    archive = tmp_path / "packed" / "model.zip"
    argv = ["--slap_train_config", str(tiny_exp / "config.yaml"),
            "--slap_model_file", str(tiny_exp / "model.pth"), "--outpath", str(archive)]
    slap_pack.main(argv)
    before = snapshot(archive.parent)
    failed = disk_full(archive.parent, "model.zip", budget=50_000)
    with pytest.raises(OSError, match="No space left"):
        slap_pack.main(argv)
    assert failed, "the write was not reached"
    assert snapshot(archive.parent) == before


@pytest.fixture(scope="module")
def archive(tiny_exp, tmp_path_factory):
    out = tmp_path_factory.mktemp("packed") / "model.zip"
    cwd = os.getcwd()
    os.chdir(tiny_exp.parent)  # as a recipe packs: from the experiment's parent
    try:
        slap_pack.main(["--slap_train_config", str(tiny_exp / "config.yaml"),
                        "--slap_model_file", str(tiny_exp / "model.pth"), "--outpath", str(out)])
    finally:
        os.chdir(cwd)
    return out


def test_cli_index_survives_a_full_disk(archive, data_dir, tmp_path, monkeypatch, disk_full):
    monkeypatch.setenv("HOME", str(tmp_path))  # the unpack cache goes under ~/.cache
    index = tmp_path / "out" / "sounds.npz"
    index.parent.mkdir()
    argv = ["embed", str(data_dir), "--model", str(archive), "--out", str(index), "--quiet"]
    assert slap_cli.main(argv) == 0
    previous = EmbeddingIndex.load(index)
    before = snapshot(index.parent)
    failed = disk_full(index.parent, "sounds.npz", budget=300)
    with pytest.raises(OSError, match="No space left"):
        slap_cli.main(argv)
    assert failed, "the write was not reached"
    assert snapshot(index.parent) == before
    assert EmbeddingIndex.load(index).keys == previous.keys


def test_cli_skips_a_truncated_long_file(archive, tmp_path, monkeypatch, capsys):
    """A long file is checked when read (window by window later): one cut in half is
    reported and skipped, a good one is embedded as the Python API embeds it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = tmp_path / "sounds"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("long.flac", "cut.flac"):
        soundfile.write(folder / name, 0.1 * rng.standard_normal(16000 * 40), 16000)
    cut = folder / "cut.flac"
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    soundfile.write(folder / "short.wav", tone(1.0, 300), 16000)
    index = tmp_path / "index.npz"
    assert slap_cli.main(["embed", str(folder), "--model", str(archive), "--out", str(index),
                          "--quiet"]) == 0
    out = capsys.readouterr()
    assert f"skipped {cut}: {cut}: cannot read audio" in out.err
    written = EmbeddingIndex.load(index)
    assert sorted(written.keys) == [str(folder / "long.flac"), str(folder / "short.wav")]
    from espnet2_slap.inference.slap_inference import SLAPInference

    api = SLAPInference.from_pretrained(str(archive), cache_dir=tmp_path / "api")
    np.testing.assert_allclose(written.embeddings, api.embed_audio(written.keys), atol=1e-6)
