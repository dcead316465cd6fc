"""--feats_type fbank: dumped log-mels equal the on-the-fly features, and training reads them."""

import copy
import importlib.util
import string
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch
import yaml

from conftest import TINY_CONFIG, write_data_dir
from espnet2_slap.tasks.slap import SLAPTask, speech_is_features

ROOT = Path(__file__).resolve().parents[1]
TOKENS = ["<blank>", "<unk>", "<space>"] + list(string.ascii_lowercase) + ["<sos/eos>"]


def load_dump_script():
    path = ROOT / "egs2" / "TEMPLATE" / "slap1" / "scripts" / "dump_fbank.py"
    spec = importlib.util.spec_from_file_location("dump_fbank", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def task_args(data_dir: Path, feats: bool, **conf):
    args = SLAPTask.get_parser().parse_args(["--output_dir", "unused"])
    for key, value in {**copy.deepcopy(TINY_CONFIG), **conf}.items():
        setattr(args, key, value)
    args.token_list, args.token_type = list(TOKENS), "char"
    speech = (f"{data_dir}/feats.scp", "speech", "kaldi_ark") if feats else \
        (f"{data_dir}/wav.scp", "speech", "sound")
    args.train_data_path_and_name_and_type = [speech, (f"{data_dir}/text", "text", "text")]
    args.valid_data_path_and_name_and_type = list(args.train_data_path_and_name_and_type)
    return args


def load_batch(args, train: bool):
    from espnet2.train.dataset import ESPnetDataset

    dataset = ESPnetDataset(args.train_data_path_and_name_and_type,
                            preprocess=SLAPTask.build_preprocess_fn(args, train=train))
    items = [dataset[key] for key in sorted(dataset.loader_dict["speech"].keys())]
    return SLAPTask.build_collate_fn(args, train=train)(items)[1]


@pytest.fixture
def dumped(tmp_path):
    raw = write_data_dir(tmp_path, "raw", 5, seed=3)
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_CONFIG))
    assert load_dump_script().main(["--config", str(config), "--data_dir", str(raw),
                                    "--out_dir", str(tmp_path / "fbank")]) == 0
    return raw, tmp_path / "fbank"


def test_dumped_features_equal_the_models_own(dumped):
    raw, fbank = dumped
    args = task_args(raw, feats=False)
    torch.manual_seed(0)
    model = SLAPTask.build_model(args).eval()
    on_the_fly = load_batch(args, train=False)
    with torch.no_grad():
        want, want_lengths = model._frontend(on_the_fly["speech"], on_the_fly["speech_lengths"])
    dumped_feats = dict(kaldiio.load_scp(str(fbank / "feats.scp")))
    for row, utt in enumerate(sorted(dumped_feats)):
        n = int(want_lengths[row])
        assert dumped_feats[utt].shape == (n, 64)
        np.testing.assert_allclose(dumped_feats[utt], want[row, :n].numpy(), atol=1e-5, rtol=0)
    shapes = dict(line.split() for line in (fbank / "feats_shape").read_text().splitlines())
    assert shapes == {u: f"{m.shape[0]},64" for u, m in dumped_feats.items()}
    # the other files of the data dir come along
    assert (fbank / "text").read_text() == (raw / "text").read_text()


def test_training_batches_from_the_dump_give_the_same_losses(dumped):
    raw, fbank = dumped
    losses = {}
    for feats, data in ((False, raw), (True, fbank)):
        args = task_args(data, feats=feats)
        assert speech_is_features(args) == feats
        torch.manual_seed(0)
        model = SLAPTask.build_model(args).eval()
        batch = load_batch(args, train=False)
        assert batch["speech"].dim() == (3 if feats else 2)
        torch.manual_seed(1)  # the same SSL masks
        with torch.no_grad():
            _, stats, _ = model(**batch)
        losses[feats] = {k: float(v) for k, v in stats.items() if k.startswith("loss")}
    assert losses[True].keys() == losses[False].keys() and "loss_ssl" in losses[True]
    for key, value in losses[False].items():
        assert losses[True][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_packing_cost_of_a_dumped_clip_equals_its_waveforms(dumped):
    raw, fbank = dumped
    samples = dict(line.split() for line in (raw / "speech_shape").read_text().splitlines())
    frames = dict(line.split() for line in (fbank / "feats_shape").read_text().splitlines())
    for crop in (None, 1.0):
        cost_raw = SLAPTask.tokens_per_sample_fn(task_args(raw, False, crop_seconds=crop))
        cost_fbank = SLAPTask.tokens_per_sample_fn(task_args(fbank, True, crop_seconds=crop))
        for utt in samples:
            assert cost_fbank(int(frames[utt].split(",")[0])) == cost_raw(int(samples[utt])), utt


def test_a_second_dump_with_the_same_inputs_does_nothing_and_mixed_inputs_are_refused(dumped,
                                                                                     capsys):
    raw, fbank = dumped
    before = (fbank / "feats.ark").stat().st_mtime_ns
    config = fbank.parent / "tiny.yaml"
    load_dump_script().main(["--config", str(config), "--data_dir", str(raw),
                             "--out_dir", str(fbank)])
    assert "up to date" in capsys.readouterr().out
    assert (fbank / "feats.ark").stat().st_mtime_ns == before
    args = task_args(raw, feats=False)
    args.valid_data_path_and_name_and_type = [(f"{fbank}/feats.scp", "speech", "kaldi_ark")]
    with pytest.raises(ValueError, match="dump both the same way"):
        speech_is_features(args)
