"""SLAPTask as ESPnet users drive it: CLI, config round trip, collect-stats and training."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from espnet2.utils.yaml_no_alias_safe_dump import yaml_no_alias_safe_dump

from espnet2_slap.tasks.slap import SLAPTask

from conftest import TINY_CONFIG


def run_train(*args, check=True):
    """The training CLI in a fresh process, as a recipe runs it."""
    cmd = [sys.executable, "-m", "espnet2_slap.bin.slap_train", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def run_main(capsys, *args):
    """``SLAPTask.main`` in this process; returns (exit code, stdout, stderr)."""
    code = 0
    try:
        SLAPTask.main(cmd=[str(a) for a in args])
    except SystemExit as err:
        code = err.code
    out = capsys.readouterr()
    return code, out.out, out.err


def data_args(train, valid):
    return [
        "--train_data_path_and_name_and_type", f"{train}/wav.scp,speech,sound",
        "--train_data_path_and_name_and_type", f"{train}/text,text,text",
        "--valid_data_path_and_name_and_type", f"{valid}/wav.scp,speech,sound",
        "--valid_data_path_and_name_and_type", f"{valid}/text,text,text",
        "--train_shape_file", f"{train}/speech_shape",
        "--valid_shape_file", f"{valid}/speech_shape",
    ]


def test_help_lists_the_registered_choices(capsys):
    code, out, _ = run_main(capsys, "--help")
    assert code == 0
    for option in ["--audio_encoder", "--text_encoder", "--contrastive_loss", "--ssl",
                   "--caption_decoder", "--batch_tokens"]:
        assert option in out
    assert "{slap,espnet}" in out and "{infonce,sigmoid}" in out


def test_print_config_is_clean_yaml_with_the_encoders():
    """The real CLI: nothing but YAML on stdout (ESPnet's import notices go to stderr)."""
    config = yaml.safe_load(run_train("--print_config").stdout)
    assert config["audio_encoder"] == "slap"
    assert config["text_encoder"] == "huggingface"
    assert config["audio_encoder_conf"]["attention_pattern"] == ["local", "local", "global"]
    assert config["iterator_type"] == "task"


def test_missing_required_option_exits_like_espnet(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["slap_train.py"])
    code, _, err = run_main(capsys, "--max_epoch", "1")
    assert code == 2
    assert "the following arguments are required: --output_dir" in err


def test_config_round_trip(tiny_config, tmp_path):
    """A config dumped as the Trainer writes config.yaml (less ESPnet's non-config options)
    parses back to the same arguments, and so does the --print_config default config."""
    parser = SLAPTask.get_parser()
    args = parser.parse_args(["--config", str(tiny_config)])
    dumped = tmp_path / "config.yaml"
    options = {k: v for k, v in vars(args).items() if k not in SLAPTask.exclude_opts()}
    with dumped.open("w") as f:
        yaml_no_alias_safe_dump(options, f, indent=4, sort_keys=False)
    again = parser.parse_args(["--config", str(dumped)])
    assert as_plain(again) == as_plain(args)
    assert again.audio_encoder_conf == TINY_CONFIG["audio_encoder_conf"]
    assert again.ssl_conf == TINY_CONFIG["ssl_conf"]

    defaults = tmp_path / "defaults.yaml"
    defaults.write_text(yaml.safe_dump(SLAPTask.get_default_config()))
    from_defaults = parser.parse_args(["--config", str(defaults)])
    assert as_plain(from_defaults) == as_plain(parser.parse_args([]))


def as_plain(args):
    """Namespace -> JSON-like dict (tuples become lists), without the --config path."""
    return json.loads(json.dumps({**vars(args), "config": None}))


def build_tiny_model(tiny_config, token_list):
    args = SLAPTask.get_parser().parse_args(
        ["--config", str(tiny_config), "--token_list", str(token_list), "--output_dir", "unused"]
    )
    return SLAPTask.build_model(args), args


def test_model_forward_backward_with_all_objectives(tiny_config, char_token_list):
    model, args = build_tiny_model(tiny_config, char_token_list)
    model.ssl_objective.teacher.set_total_steps(10)
    preprocess = SLAPTask.build_preprocess_fn(args, train=True)
    collate = SLAPTask.build_collate_fn(args, train=True)
    rng = np.random.default_rng(0)
    items = [
        (f"u{i}", preprocess(f"u{i}", {"speech": rng.standard_normal(n).astype(np.float32),
                                      "text": caption}))
        for i, (n, caption) in enumerate([(16000, "a dog barks"), (5000, "a bell rings"),
                                          (30000, "a man speaks")])
    ]
    _, batch = collate(items)
    assert set(batch) >= {"speech", "text", "caption", "caption_lengths"}
    loss, stats, weight = model(**batch)
    loss.backward()
    assert torch.isfinite(loss) and int(weight) == 3
    for key in ["loss", "loss_clap", "loss_ssl", "loss_cap", "temperature", "acc_a2t",
                "acc_t2a", "acc_cap", "ema_momentum"]:
        assert key in stats, key
    expected = stats["loss_clap"] + stats["loss_ssl"] + 0.5 * stats["loss_cap"]
    torch.testing.assert_close(stats["loss"], expected)
    # the teacher never takes gradients; the student does
    assert all(p.grad is None for p in model.ssl_objective.teacher.parameters())
    assert model.audio_encoder.patch_embed.weight.grad.abs().sum() > 0


def test_teacher_is_not_optimized_and_follows_steps(tiny_config, char_token_list, tiny_data):
    model, args = build_tiny_model(tiny_config, char_token_list)
    args.train_shape_file = [str(tiny_data[0] / "speech_shape")]
    (optimizer,) = SLAPTask.build_optimizers(args, model)
    optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
    teacher = {id(p) for p in model.ssl_objective.teacher.parameters()}
    assert optimized and not optimized & teacher
    assert int(model.ssl_objective.teacher.total_steps) >= 1
    for p in model.parameters():
        if p.requires_grad:
            p.grad = torch.zeros_like(p)
    optimizer.step()
    assert int(model.ssl_objective.teacher.step) == 1


@pytest.mark.slow
def test_collect_stats_then_train_one_epoch(tiny_config, char_token_list, tiny_data, tmp_path):
    train, valid = tiny_data
    stats_dir = tmp_path / "stats"
    common = ["--config", tiny_config, "--token_list", char_token_list, *data_args(train, valid)]
    run_train(*common, "--collect_stats", "true", "--output_dir", stats_dir,
              "--iterator_type", "sequence", "--batch_type", "unsorted", "--batch_size", 4)
    stats = np.load(stats_dir / "train" / "feats_stats.npz")
    assert stats["sum"].shape == (64,) and int(stats["count"]) > 0

    exp = tmp_path / "exp"
    result = run_train(*common, "--normalize", "global_mvn",
                       "--normalize_conf", f"stats_file={stats_dir / 'train' / 'feats_stats.npz'}",
                       "--output_dir", exp, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (exp / "1epoch.pth").is_file() and (exp / "valid.loss.best.pth").is_file()
    log = result.stderr
    assert "loss_ssl" in log and "loss_cap" in log and "loss_clap" in log
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert isinstance(config["token_list"], list)


@pytest.mark.parametrize("key, value, message", [
    ("batch_tokens", -6144, "batch_tokens (config key, or --batch_tokens) must be a positive "
                            "integer, got -6144"),
    ("batch_tokens", 6144.5, "batch_tokens (config key, or --batch_tokens) must be a positive "
                             "integer, got 6144.5"),
    ("valid_batch_tokens", 0, "valid_batch_tokens (config key, or --valid_batch_tokens) must be "
                              "a positive integer or none, got 0"),
    ("crop_seconds", -30.0, "crop_seconds (config key, or --crop_seconds) must be a positive "
                            "number or none, got -30.0"),
    ("ema_total_steps", 0, "ema_total_steps (config key, or --ema_total_steps) must be a "
                           "positive integer or none, got 0"),
    ("token_type", "phoneme", "token_type (config key, or --token_type) must be one of "
                              "['bpe', 'char', 'word'], got 'phoneme'"),
])
def test_bad_config_values_are_named_at_parse_time(capsys, tmp_path, monkeypatch, key, value,
                                                   message):
    """A config value never passes argparse's type check (ESPnet applies configs as
    defaults): batch_tokens -6144 failed only after the model was built, as 'token_budget'."""
    monkeypatch.setattr(SLAPTask, "build_model", classmethod(lambda cls, args: 1 / 0))
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(dict(TINY_CONFIG, **{key: value})))
    code, _, err = run_main(capsys, "--config", config, "--output_dir", tmp_path / "exp")
    assert code == 2
    assert message in err
