"""One rule names a trained SLAP model: experiment dir, .pth, packed zip or model-zoo tag."""

import zipfile

import pytest

from espnet2_slap.utils.model_source import ModelSourceError, resolve_slap_model


def test_experiment_dir_prefers_the_best_validation_model(tmp_path):
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "config.yaml").write_text("a: 1\n")
    (exp / "latest.pth").write_bytes(b"")
    assert resolve_slap_model(exp) == (exp / "config.yaml", exp / "latest.pth")
    (exp / "valid.loss.best.pth").write_bytes(b"")
    assert resolve_slap_model(exp) == (exp / "config.yaml", exp / "valid.loss.best.pth")
    assert resolve_slap_model(exp / "latest.pth") == (exp / "config.yaml", exp / "latest.pth")


@pytest.mark.parametrize("case, message", [
    ("empty_dir", "an experiment directory needs config.yaml"),
    ("lone_pth", "no config.yaml beside it"),
    ("missing", "no such file or directory"),
    ("not_slap_zip", "not a SLAP model archive"),
])
def test_bad_sources_name_the_option_and_the_reason(tmp_path, case, message):
    source = tmp_path / case
    if case == "empty_dir":
        source.mkdir()
    elif case == "lone_pth":
        source = tmp_path / "model.pth"
        source.write_bytes(b"")
    elif case == "not_slap_zip":
        source = tmp_path / "other.zip"
        with zipfile.ZipFile(source, "w") as archive:
            archive.writestr("meta.yaml", "files: {}\nyaml_files: {}\n")
    with pytest.raises(ModelSourceError, match=message) as error:
        resolve_slap_model(source, cache_dir=tmp_path / "cache", option="--slap_init")
    assert str(error.value).startswith(f"--slap_init {source}")
