"""The single-stage multi-objective model: loss terms, forward modes, ablations, EMA in ESPnet."""

import copy
import string
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from espnet2_slap.tasks.slap import SLAPTask

from conftest import TINY_CONFIG

ROOT = Path(__file__).resolve().parents[1]
TOKENS = ["<blank>", "<unk>", "<space>"] + list(string.ascii_lowercase) + ["<sos/eos>"]


def build(config=TINY_CONFIG, **overrides):
    conf = copy.deepcopy(config)
    conf.update(overrides)
    args = SLAPTask.get_parser().parse_args(["--output_dir", "unused"])
    for key, value in conf.items():
        setattr(args, key, value)
    args.token_list = list(TOKENS)
    model = SLAPTask.build_model(args)
    return model, args


def fixed_batch(args, captions, seconds, seed=0):
    rng = np.random.default_rng(seed)
    preprocess = SLAPTask.build_preprocess_fn(args, train=True)
    items = []
    for i, (caption, length) in enumerate(zip(captions, seconds)):
        t = np.arange(int(length * 16000)) / 16000
        wave = np.sin(2 * np.pi * (150 + 200 * i) * t) + 0.1 * rng.standard_normal(t.size)
        items.append((f"u{i}", preprocess(f"u{i}", {"speech": wave.astype(np.float32), "text": caption})))
    return SLAPTask.build_collate_fn(args, train=True)(items)[1]


def test_each_loss_term_decreases_when_overfitting():
    torch.manual_seed(0)
    model, args = build(specaug=None, specaug_conf={})
    args.optim, args.optim_conf, args.max_epoch = "adam", {"lr": 2e-3}, 1
    args.ema_total_steps = 60
    (optimizer,) = SLAPTask.build_optimizers(args, model)
    batch = fixed_batch(args, ["a dog barks", "a bell rings", "a man speaks", "a piano plays"],
                        [1.0, 1.6, 0.7, 2.2])
    history = []
    model.train()
    for _ in range(60):
        loss, stats, _ = model(**batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append({k: float(stats[k]) for k in ("loss_clap", "loss_ssl", "loss_cap")})
    for term in ("loss_clap", "loss_ssl", "loss_cap"):
        start = np.mean([h[term] for h in history[:3]])
        end = np.mean([h[term] for h in history[-3:]])
        assert end < 0.8 * start, f"{term}: {start:.3f} -> {end:.3f}"
    assert int(model.ssl_objective.teacher.step) == 60


def test_teacher_starts_from_the_student_as_training_starts():
    """Weights loaded into the student after the model was built (ESPnet's --init_param)
    reach the teacher before its first EMA update, and only then."""
    torch.manual_seed(0)
    model, args = build()
    args.optim, args.optim_conf, args.ema_total_steps = "adam", {"lr": 1e-3}, 10
    (optimizer,) = SLAPTask.build_optimizers(args, model)
    teacher = model.ssl_objective.teacher.module["encoder"]
    with torch.no_grad():  # what --init_param model.pth:audio_encoder:audio_encoder does
        for p in model.audio_encoder.parameters():
            p.add_(torch.randn_like(p))
    batch = fixed_batch(args, ["a dog barks", "a bell rings"], [1.0, 0.5])
    model.train()
    loss, _, _ = model(**batch)
    for (name, t), s in zip(teacher.named_parameters(), model.audio_encoder.parameters()):
        assert torch.equal(t, s), name
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()  # the first EMA update: from now on the teacher trails the student
    assert int(model.ssl_objective.teacher.step) == 1
    before = [t.clone() for t in teacher.parameters()]
    model(**batch)
    for b, t in zip(before, teacher.parameters()):
        assert torch.equal(b, t)
    assert any(not torch.equal(t, s) for t, s in zip(teacher.parameters(), model.audio_encoder.parameters()))


@pytest.mark.parametrize("mode, student_passes", [("separate", 2), ("shared", 1)])
def test_ssl_forward_modes(mode, student_passes):
    model, args = build(model_conf={**TINY_CONFIG["model_conf"], "ssl_forward": mode})
    model.ssl_objective.teacher.set_total_steps(10)
    calls = []
    model.audio_encoder.register_forward_hook(lambda *a: calls.append(1))
    batch = fixed_batch(args, ["a dog barks", "a bell rings"], [1.0, 0.5])
    model(**batch)
    assert len(calls) == student_passes


def test_loss_weights_and_disabled_objectives():
    model, args = build(
        model_conf={**TINY_CONFIG["model_conf"], "clap_weight": 0.3, "ssl_weight": 2.0, "caption_weight": 0.25}
    )
    model.ssl_objective.teacher.set_total_steps(10)
    batch = fixed_batch(args, ["a dog barks", "a bell rings"], [1.0, 0.5])
    _, stats, _ = model(**batch)
    expected = 0.3 * stats["loss_clap"] + 2.0 * stats["loss_ssl"] + 0.25 * stats["loss_cap"]
    torch.testing.assert_close(stats["loss"], expected)

    clap_only, args = build(ssl=None, ssl_conf={}, caption_decoder=None, caption_decoder_conf={})
    _, stats, _ = clap_only(**fixed_batch(args, ["a dog barks", "a bell rings"], [1.0, 0.5]))
    assert "loss_ssl" not in stats and "loss_cap" not in stats
    torch.testing.assert_close(stats["loss"], stats["loss_clap"])


def test_paper_ablation_configs_change_only_their_objective():
    base = yaml.safe_load((ROOT / "conf" / "slap_paper.yaml").read_text())
    assert (base["model_conf"]["clap_weight"], base["model_conf"]["ssl_weight"],
            base["model_conf"]["caption_weight"]) == (1.0, 1.0, 0.5)
    assert base["ssl_conf"]["mask_ratio"] == 0.5
    assert (base["ssl_conf"]["momentum_start"], base["ssl_conf"]["momentum_end"]) == (0.994, 1.0)
    expected = {
        "paper_full": {},
        "paper_no_ssl": {"ssl": None},
        "paper_no_cap": {"caption_decoder": None},
        "paper_clap_only": {"ssl": None, "caption_decoder": None},
        "paper_no_local": {"audio_encoder_conf": {**base["audio_encoder_conf"], "attention_pattern": ["global"]}},
    }
    for name, changes in expected.items():
        ablation = yaml.safe_load((ROOT / "conf" / "ablation" / f"{name}.yaml").read_text())
        want = {**base, **changes}
        for removed in [k for k, v in changes.items() if v is None]:
            want.pop(f"{removed}_conf")
        assert ablation == want, name


def run_train(*args):
    cmd = [sys.executable, "-m", "espnet2_slap.bin.slap_train", *map(str, args)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
def test_resume_gives_the_same_teacher_and_accum_grad_steps_once(tiny_config, char_token_list, tiny_data, tmp_path):
    train, valid = tiny_data
    common = [
        "--config", tiny_config, "--token_list", char_token_list, "--batch_tokens", 200,
        "--train_data_path_and_name_and_type", f"{train}/wav.scp,speech,sound",
        "--train_data_path_and_name_and_type", f"{train}/text,text,text",
        "--valid_data_path_and_name_and_type", f"{valid}/wav.scp,speech,sound",
        "--valid_data_path_and_name_and_type", f"{valid}/text,text,text",
        "--train_shape_file", f"{train}/speech_shape", "--valid_shape_file", f"{valid}/speech_shape",
        "--keep_nbest_models", 5,
    ]
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    run_train(*common, "--max_epoch", 2, "--output_dir", straight)
    a = torch.load(straight / "2epoch.pth", map_location="cpu")
    total = int(a["ssl_objective.teacher.step"])  # one EMA step per batch: the whole schedule
    assert total > 2
    # an interruption after epoch 1: the same schedule, stopped, then resumed
    run_train(*common, "--max_epoch", 1, "--ema_total_steps", total, "--output_dir", interrupted)
    run_train(*common, "--max_epoch", 2, "--ema_total_steps", total, "--output_dir", interrupted,
              "--resume", "true")
    b = torch.load(interrupted / "2epoch.pth", map_location="cpu")
    teacher = [k for k in a if k.startswith("ssl_objective.teacher.")]
    assert teacher
    for key in teacher:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=0, msg=key)

    accum = tmp_path / "accum"
    run_train(*common, "--max_epoch", 1, "--accum_grad", 2, "--output_dir", accum)
    steps_plain = int(torch.load(interrupted / "1epoch.pth", map_location="cpu")["ssl_objective.teacher.step"])
    steps_accum = int(torch.load(accum / "1epoch.pth", map_location="cpu")["ssl_objective.teacher.step"])
    assert steps_accum == steps_plain // 2
