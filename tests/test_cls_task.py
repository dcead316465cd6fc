"""Tagging with the SLAP encoder on ESPnet's CLS task: init, linear probe, lr decay, sampling."""

import logging

import numpy as np
import pytest
import soundfile
import torch
import yaml


from espnet2_slap.cls.augment import RandomTimeRoll
from espnet2_slap.cls.encoder import SLAPClsEncoder
from espnet2_slap.cls.sampling import (
    BalancedPackingSampler,
    inverse_frequency_weights,
    read_utt2labels,
)
from espnet2_slap.cls.scoring import fold_summary, score
from espnet2_slap.cls.task import SLAPCLSTask, layer_decay_groups
from espnet2_slap.inference import SLAPInference
from espnet2_slap.data.packing_sampler import TokenBudgetBatchSampler
from espnet2.train.distributed_utils import DistributedOption

from test_inference_api import pack_tiny_exp, tone

CLASSES = ["bell", "dog", "piano"]
SLAP_FEATURES = ["--frontend_conf", "n_mels=64", "--frontend_conf", "hop_length=160", "--frontend_conf", "win_length=400"]


@pytest.fixture
def cls_token_list(tmp_path):
    path = tmp_path / "cls_tokens.txt"
    path.write_text("\n".join(CLASSES + ["<unk>"]) + "\n")
    return path


def cls_args(token_list, *extra):
    return SLAPCLSTask.get_parser().parse_args(
        ["--token_list", str(token_list), "--output_dir", "unused", *map(str, extra)]
    )


def labelled_dir(root, name, num_utts, seed):
    """A CLS data dir: 16 kHz tones of 0.4-1.6 s, one class per clip, and a shape file."""
    rng = np.random.default_rng(seed)
    data = root / name
    (data / "wav").mkdir(parents=True)
    wav_scp, text, shape = [], [], []
    for i in range(num_utts):
        utt = f"{name}_{i:03d}"
        kind = i % len(CLASSES)
        samples = int(rng.uniform(0.4, 1.6) * 16000)
        t = np.arange(samples) / 16000
        wave = 0.3 * np.sin(2 * np.pi * (300 + 500 * kind) * t) + 0.02 * rng.standard_normal(samples)
        soundfile.write(data / "wav" / f"{utt}.wav", wave.astype(np.float32), 16000)
        wav_scp.append(f"{utt} {data / 'wav' / f'{utt}.wav'}")
        text.append(f"{utt} {CLASSES[kind]}")
        shape.append(f"{utt} {samples}")
    for file, lines in (("wav.scp", wav_scp), ("text", text), ("speech_shape", shape)):
        (data / file).write_text("\n".join(lines) + "\n")
    return data


def test_init_from_packed_slap_model_gives_its_pooled_output(tiny_exp, cls_token_list, tmp_path, monkeypatch, caplog):
    archive = pack_tiny_exp(tiny_exp, tmp_path / "packed.zip", monkeypatch)
    monkeypatch.setenv("HOME", str(tmp_path))  # the archive unpacks under ~/.cache
    args = cls_args(cls_token_list, "--slap_init", archive, "--encoder_conf", "l2_normalize=true")
    with caplog.at_level(logging.INFO):
        model = SLAPCLSTask.build_model(args).eval()
    assert "loaded 23 tensors (student encoder + MAP pooling)" in caplog.text
    assert "newly initialised" in caplog.text and "decoder.linear_out.weight" in caplog.text
    # the architecture and the features are written into the config: it rebuilds alone
    assert args.encoder_conf["encoder_conf"]["output_size"] == 32 and args.encoder_conf["embed_dim"] == 16
    assert args.normalize == "global_mvn" and args.frontend == "default_per_clip"

    slap = SLAPInference.from_pretrained(str(archive), cache_dir=tmp_path / "cache")
    clips = [tone(1.0), tone(2.3, freq=220), tone(0.6, freq=880)]
    expected = slap.embed_audio(clips, 16000)
    speech = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(c) for c in clips], batch_first=True)
    with torch.no_grad():
        pooled, lengths = model.encode(speech, torch.tensor([len(c) for c in clips]))
    assert pooled.shape == (3, 1, 16) and lengths.tolist() == [1, 1, 1]
    np.testing.assert_allclose(pooled[:, 0].numpy(), expected, atol=1e-5)

    # rebuilt from its config.yaml + weights, without the SLAP model
    config = tmp_path / "cls" / "config.yaml"
    config.parent.mkdir()
    config.write_text(yaml.safe_dump({**vars(args), "slap_init": "/nonexistent/model.zip"}))
    torch.save(model.state_dict(), tmp_path / "cls" / "model.pth")
    rebuilt, _ = SLAPCLSTask.build_model_from_file(config, tmp_path / "cls" / "model.pth")
    with torch.no_grad():
        again, _ = rebuilt.encode(speech, torch.tensor([len(c) for c in clips]))
    np.testing.assert_allclose(again.numpy(), pooled.numpy(), atol=1e-6)


def test_teacher_weights_on_request(tiny_exp, cls_token_list):
    state = torch.load(tiny_exp / "model.pth")
    teacher = state["ssl_objective.teacher.module.encoder.patch_embed.weight"]
    with torch.no_grad():  # make the teacher differ from the student
        state["ssl_objective.teacher.module.encoder.patch_embed.weight"] = teacher + 1.0
    changed = tiny_exp.parent / "changed"
    changed.mkdir(exist_ok=True)
    (changed / "config.yaml").write_text((tiny_exp / "config.yaml").read_text())
    torch.save(state, changed / "valid.loss.best.pth")
    by_name = {}
    for weights in ("student", "teacher", "none"):
        model = SLAPCLSTask.build_model(cls_args(cls_token_list, "--slap_init", changed, "--slap_init_weights", weights))
        by_name[weights] = model.encoder.encoder.patch_embed.weight.detach()
    torch.testing.assert_close(by_name["student"], state["audio_encoder.patch_embed.weight"])
    torch.testing.assert_close(by_name["teacher"], teacher + 1.0)
    assert not torch.allclose(by_name["none"], by_name["student"])


def test_linear_probe_trains_the_head_only(tiny_exp, cls_token_list, tmp_path):
    train, valid = labelled_dir(tmp_path, "train", 9, 1), labelled_dir(tmp_path, "valid", 3, 2)
    exp = tmp_path / "exp"
    SLAPCLSTask.main(cmd=[str(a) for a in [
        "--slap_init", tiny_exp / "model.pth", "--encoder_conf", "freeze=true",
        "--token_list", cls_token_list, "--output_dir", exp,
        "--train_data_path_and_name_and_type", f"{train}/wav.scp,speech,sound",
        "--train_data_path_and_name_and_type", f"{train}/text,label,text",
        "--valid_data_path_and_name_and_type", f"{valid}/wav.scp,speech,sound",
        "--valid_data_path_and_name_and_type", f"{valid}/text,label,text",
        "--train_shape_file", f"{train}/speech_shape", "--valid_shape_file", f"{valid}/speech_shape",
        "--batch_tokens", 200, "--max_epoch", 2, "--optim", "adamw", "--optim_conf", "lr=0.05",
        "--specaug", "specaug_per_clip", "--specaug_conf", "apply_time_warp=false", "--specaug_conf", "time_mask_width_ratio_range=[0.0,0.05]", "--time_roll", "true", "--num_workers", 0,
        "--best_model_criterion", "valid,acc,max", "--use_tensorboard", "false",
    ]])
    trained = torch.load(exp / "2epoch.pth")
    slap = torch.load(tiny_exp / "model.pth")
    for name, value in slap.items():
        if name.startswith("audio_encoder."):
            torch.testing.assert_close(trained["encoder.encoder." + name[len("audio_encoder."):]], value, rtol=0, atol=0)
        elif name.startswith("audio_pooling."):
            torch.testing.assert_close(trained["encoder.pooling." + name[len("audio_pooling."):]], value, rtol=0, atol=0)
    initial = torch.load(exp / "1epoch.pth")["decoder.linear_out.weight"]
    assert not torch.equal(initial, trained["decoder.linear_out.weight"])  # the head did learn
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["encoder_conf"]["freeze"] is True and config["iterator_type"] == "task"

    model = SLAPCLSTask.build_model(cls_args(cls_token_list, "--slap_init", tiny_exp / "model.pth",
                                             "--encoder_conf", "freeze=true"))
    model.train()
    assert model.decoder.training and not model.encoder.training
    assert not model.encoder.encoder.training and not model.encoder.pooling.training
    assert all(not p.requires_grad for p in model.encoder.parameters())


TWO_BLOCKS = "encoder_conf={output_size: 32, num_layers: 2, num_heads: 2, mlp_hidden_size: 64}"


def test_layer_decay_scales_lr_by_depth(cls_token_list):
    args = cls_args(cls_token_list, "--encoder_conf", "encoder_conf={output_size: 32, num_layers: 3, num_heads: 2, mlp_hidden_size: 64}")
    model = SLAPCLSTask.build_model(args)
    groups = layer_decay_groups(model, decay=0.5, lr=1.0, exclude_weight_decay=True)
    scale_of = {id(p): g["lr_scale"] for g in groups for p in g["params"]}
    assert {g["lr"] for g in groups} == {1.0}  # what a scheduler sees: one lr
    no_decay = {id(p) for g in groups if g.get("weight_decay") == 0.0 for p in g["params"]}
    encoder = model.encoder.encoder
    assert scale_of[id(encoder.patch_embed.weight)] == 0.5**4
    assert all(scale_of[id(p)] == 0.5**3 for p in encoder.blocks[0].parameters())
    assert scale_of[id(next(encoder.blocks[2].parameters()))] == 0.5
    assert scale_of[id(model.decoder.linear_out.weight)] == 1.0
    assert scale_of[id(model.encoder.pooling.query)] == 1.0
    assert id(encoder.mask_token) not in scale_of  # never used by tagging, not trained
    assert id(model.decoder.linear_out.bias) in no_decay and id(model.decoder.linear_out.weight) not in no_decay


def effective_lrs(model, optimizer):
    """One SGD step on unit gradients: each parameter moves by the lr it really got."""
    params = {"patch": model.encoder.encoder.patch_embed.weight,
              "block1": model.encoder.encoder.blocks[0].attn.qkv.weight,
              "block2": model.encoder.encoder.blocks[1].attn.qkv.weight,
              "head": model.decoder.linear_out.weight}
    before = {k: p.detach().clone() for k, p in params.items()}
    for p in model.parameters():
        p.grad = torch.ones_like(p) if p.requires_grad else None
    optimizer.step()
    return {k: float((before[k] - p.detach()).mean()) for k, p in params.items()}


@pytest.mark.parametrize("scheduler, conf", [
    ("cosineannealingwarmuprestarts",
     "{first_cycle_steps: 40, warmup_steps: 5, max_lr: 0.1, min_lr: 0.001}"),
    ("warmuplr", "{warmup_steps: 5}"),
])
def test_layer_decay_holds_under_every_scheduler(cls_token_list, scheduler, conf):
    """An absolute scheduler (the one SLAP pretraining uses) used to overwrite every layer's lr
    with one value: after 20 steps all layers moved alike instead of 0.125/0.25/0.5/1."""
    from espnet2.tasks.abs_task import scheduler_classes

    args = cls_args(cls_token_list, "--encoder_conf", TWO_BLOCKS, "--layer_decay", 0.5,
                    "--optim", "sgd", "--optim_conf", "lr=0.1", "--scheduler", scheduler,
                    "--scheduler_conf", conf, "--num_iters_per_epoch", 10, "--max_epoch", 4)
    model = SLAPCLSTask.build_model(args)
    (optimizer,) = SLAPCLSTask.build_optimizers(args, model)
    lr_scheduler = scheduler_classes[scheduler](optimizer, **args.scheduler_conf)
    for _ in range(20):
        effective_lrs(model, optimizer)
        lr_scheduler.step()
    lrs = effective_lrs(model, optimizer)
    ratios = [lrs[k] / lrs["head"] for k in ("patch", "block1", "block2")]
    assert ratios == pytest.approx([0.125, 0.25, 0.5], rel=1e-4)
    assert lrs["head"] == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-4)


def test_tagging_schedule_spans_the_balanced_draws(tmp_path, cls_token_list):
    """The cycle length is counted from the sampler tagging trains with (balanced draws)."""
    train = labelled_dir(tmp_path, "train", 9, seed=0)
    args = cls_args(cls_token_list, "--encoder_conf", TWO_BLOCKS, "--max_epoch", 2,
                    "--scheduler", "cosineannealingwarmuprestarts",
                    "--scheduler_conf", "{warmup_steps: 1, max_lr: 0.1, min_lr: 0.001}",
                    "--batch_tokens", 60, "--balanced_sampling", "true",
                    "--balanced_num_samples", 30,
                    "--train_data_path_and_name_and_type", f"{train}/wav.scp,speech,sound",
                    "--train_data_path_and_name_and_type", f"{train}/text,label,text",
                    "--train_shape_file", f"{train}/speech_shape")
    model = SLAPCLSTask.build_model(args)
    SLAPCLSTask.build_optimizers(args, model)
    factory = SLAPCLSTask.build_task_iter_factory(
        args, SLAPCLSTask.build_iter_options(args, DistributedOption(), "train"), "train")
    real = sum(len(factory.sampler.batches(epoch)) for epoch in (1, 2))
    assert args.scheduler_conf["first_cycle_steps"] == real
    assert real > sum(len(factory.sampler.sampler.batches(e)) for e in (1, 2))  # 30 draws > 9


def test_balanced_sampling_draws_rare_classes_as_often(tmp_path):
    # 'speech' in 18 clips, 'bark' in 2 (one of them also speech): inverse-frequency weights
    lines = [f"u{i:02d} speech" for i in range(17)] + ["u17 speech bark", "u18 bark", "u19 <blank>"]
    (tmp_path / "text").write_text("\n".join(lines) + "\n")
    utt2labels = read_utt2labels(tmp_path / "text")
    weights = inverse_frequency_weights(utt2labels)
    assert weights["u00"] == pytest.approx(1 / 18) and weights["u18"] == pytest.approx(1 / 2)
    assert weights["u17"] == pytest.approx(1 / 18 + 1 / 2) and weights["u19"] == 0.0

    inner = TokenBudgetBatchSampler({u: 10 + i for i, u in enumerate(sorted(utt2labels))}, 60, seed=3)
    sampler = BalancedPackingSampler(inner, weights, num_samples=4000)
    batches = sampler.batches(1)
    drawn = [u for batch in batches for u in batch]
    assert len(drawn) == 4000 and "u19" not in drawn
    assert all(sum(inner.tokens_of(u) for u in batch) <= 60 for batch in batches)
    with_bark = sum(u in ("u17", "u18") for u in drawn) / len(drawn)
    # P(u17 or u18) = (1/18 + 1/2 + 1/2) / (17/18 + 1/18 + 1/2 + 1/2) = 19/36
    assert abs(with_bark - 19 / 36) < 0.03
    assert sampler.batches(1) == batches and sampler.batches(2) != batches  # seeded per epoch
    assert sampler.batches(1, shuffle=False) == inner.batches(1, shuffle=False)  # validation: plain
    ranks = [BalancedPackingSampler(
        TokenBudgetBatchSampler({u: inner.tokens_of(u) for u in utt2labels}, 60, seed=3, world_size=2, rank=r),
        weights, num_samples=4000).batches(1) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1])
    assert sorted(u for r in ranks for b in r for u in b) == sorted(drawn)


def test_time_roll_rotates_training_waveforms():
    np.random.seed(0)
    roll = RandomTimeRoll(None)
    speech = np.arange(1000, dtype=np.float32)
    rolled = roll("u", {"speech": speech.copy()})["speech"]
    shift = int(np.argmin(rolled))
    assert shift > 0 and np.array_equal(rolled, np.roll(speech, shift))


def test_time_roll_only_in_training(cls_token_list):
    args = cls_args(cls_token_list, "--time_roll", "true")
    assert isinstance(SLAPCLSTask.build_preprocess_fn(args, train=True), RandomTimeRoll)
    assert not isinstance(SLAPCLSTask.build_preprocess_fn(args, train=False), RandomTimeRoll)


def test_scoring_map_and_accuracy_by_hand():
    classes = ["a", "b", "c"]
    refs = {"u1": ["a"], "u2": ["b", "c"], "u3": ["b"], "u4": ["a"]}
    scores = {
        "u1": np.array([0.9, 0.2, 0.1]),
        "u2": np.array([0.3, 0.8, 0.4]),
        "u3": np.array([0.6, 0.5, 0.7]),
        "u4": np.array([0.5, 0.1, 0.2]),
    }
    result = score(refs, scores, classes)
    assert result["accuracy"] == pytest.approx(3 / 4)  # u3's top class c is wrong
    # AP(a): ranks u1 .9, u3 .6, u4 .5 -> precisions 1, 2/3 at the positives: (1 + 2/3) / 2
    # AP(b): u2 .8 (pos), u3 .5 (pos) -> 1; AP(c): u3 .7 (neg), u2 .4 (pos) -> 1/2
    assert result["mAP"] == pytest.approx(((1 + 2 / 3) / 2 + 1 + 0.5) / 3)
    # one class with positives (b): u2 .8 (pos), u3 .5 (neg), u1 .2 (pos) -> (1 + 2/3) / 2
    single = score({"u1": ["b"], "u2": ["b"], "u3": []}, scores, classes)
    assert single["mAP"] == pytest.approx((1 + 2 / 3) / 2) and single["classes_with_positives"] == 1
    with pytest.raises(ValueError, match="one per class"):
        score(refs, {**scores, "u4": np.array([0.5])}, classes)
    summary = fold_summary({"fold1": {"accuracy": 0.8}, "fold2": {"accuracy": 0.6}})
    assert summary["mean"] == pytest.approx(0.7) and summary["folds"] == {"fold1": 0.8, "fold2": 0.6}


def test_pooling_none_feeds_tokens_to_espnet_decoder(cls_token_list):
    args = cls_args(cls_token_list, "--encoder_conf", "pooling=none", *SLAP_FEATURES,
                    "--encoder_conf", "encoder_conf={output_size: 32, num_layers: 1, num_heads: 2, mlp_hidden_size: 64}")
    model = SLAPCLSTask.build_model(args).eval()
    assert isinstance(model.encoder, SLAPClsEncoder) and model.encoder.pooling is None
    speech = torch.randn(2, 16000)
    with torch.no_grad():
        tokens, lengths = model.encode(speech, torch.tensor([16000, 8000]))
    # 101 and 51 frames -> 7 and 4 time steps of 16 frames, x 4 bands of 16 mels
    assert tokens.shape[-1] == 32 and lengths.tolist() == [28, 16]


def test_slap_init_sources_resolve(tiny_exp, tmp_path, monkeypatch):
    """Experiment dir (best model), .pth file, and a model-zoo tag via espnet_model_zoo."""
    import zipfile

    import espnet_model_zoo.downloader as downloader

    from espnet2_slap.utils.model_source import resolve_slap_model

    exp = tmp_path / "exp_dir"
    exp.mkdir()
    (exp / "config.yaml").write_text((tiny_exp / "config.yaml").read_text())
    (exp / "valid.loss.best.pth").write_bytes((tiny_exp / "model.pth").read_bytes())
    assert resolve_slap_model(str(exp)) == (exp / "config.yaml", exp / "valid.loss.best.pth")
    assert resolve_slap_model(str(tiny_exp / "model.pth")) == (tiny_exp / "config.yaml", tiny_exp / "model.pth")
    with pytest.raises(FileNotFoundError, match="valid.loss.best.pth"):
        resolve_slap_model(str(tmp_path))

    archive = pack_tiny_exp(tiny_exp, tmp_path / "packed.zip", monkeypatch)
    repo = tmp_path / "hub" / "someone--slap_tiny"
    zipfile.ZipFile(archive).extractall(repo)
    monkeypatch.setattr(downloader, "snapshot_download", lambda repo_id, **kwargs: str(repo))
    config, model = resolve_slap_model("someone/slap_tiny", cache_dir=tmp_path / "zoo")
    assert yaml.safe_load(config.read_text())["audio_encoder"] == "slap"
    assert torch.equal(torch.load(model)["audio_encoder.patch_embed.weight"],
                       torch.load(tiny_exp / "model.pth")["audio_encoder.patch_embed.weight"])


def test_bad_tagging_option_values_are_named_at_parse_time(cls_token_list, tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"layer_decay": 1.5, "batch_tokens": -1}))
    with pytest.raises(SystemExit) as exit_info:
        SLAPCLSTask.main(cmd=["--config", str(config), "--token_list", str(cls_token_list),
                              "--output_dir", str(tmp_path / "exp")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert ("layer_decay (config key, or --layer_decay) must be a number in (0, 1] or none, "
            "got 1.5") in err
    assert "batch_tokens (config key, or --batch_tokens) must be a positive integer, got -1" in err
