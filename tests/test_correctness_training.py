"""Training correctness that single-process runs hid: unused parameters under DDP, the EMA
step count of ESPnet's sequence iterator, checkpoint averaging, the temperature clamp and
frozen modules' mode (issue "Correctness at scale", items 2-6)."""

import string

import pytest
import torch
import torch.nn.functional as F

from espnet2.main_funcs.average_nbest_models import average_nbest_models
from espnet2.train.distributed_utils import DistributedOption
from espnet2.train.reporter import Reporter

from espnet2_slap.tasks.slap import SLAPTask
from espnet2_slap.train.optimizer_steps import count_optimizer_steps

from conftest import TINY_CONFIG
from test_multi_objective import build, fixed_batch

TOKENS = ["<blank>", "<unk>", "<space>"] + list(string.ascii_lowercase) + ["<sos/eos>"]

NO_SSL = dict(ssl=None, ssl_conf={})
NO_CAP = dict(caption_decoder=None, caption_decoder_conf={})
ESPNET_ENCODER = dict(
    audio_encoder="espnet",
    audio_encoder_conf={
        "encoder": "transformer",
        "encoder_conf": {"output_size": 16, "attention_heads": 2, "linear_units": 32,
                         "num_blocks": 1, "input_layer": "conv2d"},
    },
)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        NO_SSL,
        NO_CAP,
        {**NO_SSL, **NO_CAP},
        {**NO_SSL, "contrastive_loss": "sigmoid"},
        {"model_conf": {**TINY_CONFIG["model_conf"], "ssl_forward": "shared"}},
        {**NO_SSL, **ESPNET_ENCODER},
    ],
    ids=["full", "no_ssl", "no_cap", "clap_only", "sigmoid", "shared", "espnet_encoder"],
)
def test_every_trainable_parameter_gets_a_gradient(overrides):
    """DDP with find_unused_parameters=False (ESPnet's default) needs every trainable
    parameter in the graph: the mask token without SSL and the text encoder's pooler were not."""
    model, args = build(**overrides)
    if model.ssl_objective is not None:
        model.ssl_objective.teacher.set_total_steps(10)
    model.train()
    loss, _, _ = model(**fixed_batch(args, ["a dog barks", "a bell rings"], [1.0, 0.6]))
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing
    mask_token = getattr(model.audio_encoder, "mask_token", None)
    if mask_token is not None:  # used (and trained) exactly when the SSL objective is on
        assert mask_token.requires_grad == (model.ssl_objective is not None)


def _iter_options(args, rank, world_size, monkeypatch):
    """Pretend to be ``rank`` of ``world_size`` DDP ranks (ESPnet's sequence iterator and the
    step count only ask torch.distributed for the rank and world size)."""
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.distributed, "get_world_size", lambda *a, **k: world_size)
    monkeypatch.setattr(torch.distributed, "get_rank", lambda *a, **k: rank)
    option = DistributedOption(distributed=True, dist_world_size=world_size, dist_rank=rank)
    return SLAPTask.build_iter_options(args, option, "train")


@pytest.mark.parametrize("accum_grad", [1, 2])
def test_ema_steps_equal_the_sequence_iterator_batches_per_rank(tiny_data, accum_grad, monkeypatch):
    """ESPnet's sequence iterator splits each batch across ranks, so every rank runs all the
    sampler's batches; the EMA schedule used to count ``len(sampler) // world_size``."""
    train, valid = tiny_data
    args = SLAPTask.get_parser().parse_args(["--output_dir", "unused"])
    for key, value in TINY_CONFIG.items():
        setattr(args, key, value)
    args.token_list = list(TOKENS)
    args.iterator_type, args.batch_type, args.batch_size = "sequence", "unsorted", 4
    args.max_epoch, args.accum_grad = 3, accum_grad
    args.train_data_path_and_name_and_type = [(f"{train}/wav.scp", "speech", "sound"),
                                              (f"{train}/text", "text", "text")]
    args.train_shape_file = [f"{train}/speech_shape"]
    args.distributed = True
    for rank in range(2):
        iter_options = _iter_options(args, rank, 2, monkeypatch)
        factory = SLAPTask.build_sequence_iter_factory(args, iter_options, "train")
        batches = sum(1 for _ in factory.build_iter(1))  # this rank's batches per epoch
        assert batches == 3  # 12 clips in batches of 4, each split over the 2 ranks
        expected = 3 * (batches // accum_grad)
        assert count_optimizer_steps(args, SLAPTask.tokens_per_sample_fn(args)) == expected


def _state(model, step, shift):
    state = {k: v.clone() for k, v in model.state_dict().items()}
    for key, value in state.items():
        if value.is_floating_point():
            value += shift
    state["ssl_objective.teacher.step"] = torch.tensor(step)
    return state


def test_averaged_checkpoints_load_with_the_mean_step(tmp_path):
    """ESPnet's n-best averaging sums integer buffers: the teacher's step came out doubled."""
    model, _ = build()
    torch.save(_state(model, 40, 0.0), tmp_path / "1epoch.pth")
    torch.save(_state(model, 60, 1.0), tmp_path / "2epoch.pth")
    reporter = Reporter()
    for epoch, loss in [(1, 2.0), (2, 1.0)]:
        reporter.set_epoch(epoch)
        with reporter.observe("valid") as sub:
            sub.register({"loss": loss})
            sub.next()
    average_nbest_models(tmp_path, reporter, [["valid", "loss", "min"]], nbest=2)

    averaged = torch.load(tmp_path / "valid.loss.ave.pth", map_location="cpu")
    fresh, _ = build()
    fresh.load_state_dict(averaged)  # strict: every key matches
    assert int(fresh.ssl_objective.teacher.step) == 50
    assert int(fresh.ssl_objective.teacher.merged_checkpoints) == 1
    weight = "audio_encoder.patch_embed.weight"
    torch.testing.assert_close(fresh.state_dict()[weight], model.state_dict()[weight] + 0.5)
    # a saved live model (one checkpoint) and an older checkpoint without the counter load as is
    fresh.load_state_dict(_state(model, 7, 0.0))
    assert int(fresh.ssl_objective.teacher.step) == 7
    older = _state(model, 9, 0.0)
    older.pop("ssl_objective.teacher.merged_checkpoints")
    fresh.load_state_dict(older)
    assert int(fresh.ssl_objective.teacher.step) == 9


@pytest.mark.parametrize("loss_name", ["infonce", "sigmoid"])
def test_temperature_leaves_its_bound_when_the_loss_asks(loss_name):
    """Adam's momentum carries the raw logit scale past the bound; clamped in the forward pass
    only, its gradient was zero from then on and the temperature stuck at the minimum."""
    torch.manual_seed(0)
    model, args = build(contrastive_loss=loss_name, **NO_SSL, **NO_CAP)
    args.optim, args.optim_conf = "adam", {"lr": 1.0}
    (optimizer,) = SLAPTask.build_optimizers(args, model)
    loss_fn = model.contrastive_loss
    scale = loss_fn.logit_scale
    emb = F.normalize(torch.eye(6, 16), dim=-1)  # orthogonal pairs

    def run(text, steps):
        for _ in range(steps):
            loss, stats = loss_fn(emb, text)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return float(stats["temperature"])

    lowest = run(emb, 20)  # matched pairs: the loss wants the temperature as low as allowed
    assert lowest == pytest.approx(0.01, rel=1e-4)
    assert float(scale.log_inv_temperature.detach()) <= scale.max_log_inv_temperature + 1e-6
    raised = run(emb.roll(1, dims=0), 20)  # now mismatched: a higher temperature is better
    assert raised > 0.05


def test_frozen_text_encoder_runs_in_eval_mode():
    """``--freeze_param text_encoder.model`` left dropout on in the frozen encoder."""
    model, args = build()
    for name, p in model.named_parameters():  # what ESPnet's --freeze_param does
        if name.startswith("text_encoder.model."):
            p.requires_grad = False
    model.train()
    assert not model.text_encoder.model.training
    assert not any(m.training for m in model.text_encoder.model.modules())
    assert model.audio_encoder.training and model.caption_decoder.training
    assert model.text_pooling.training
    batch = fixed_batch(args, ["a dog barks", "a bell rings"], [1.0, 0.6])
    first = model.embed_text(batch["text"], batch["text_lengths"])
    second = model.embed_text(batch["text"], batch["text_lengths"])
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    model.eval()
    torch.testing.assert_close(model.embed_text(batch["text"], batch["text_lengths"]), first)
    # an unfrozen text encoder trains with its dropout as before
    unfrozen, _ = build()
    unfrozen.train()
    assert unfrozen.text_encoder.model.training


def test_attention_plots_never_run_the_model(tmp_path):
    """ESPnet plots attention on rank 0 alone by running the model; its forward calls
    collectives (embedding gather, Sinkhorn all-reduce) the other ranks never join."""
    args = SLAPTask.get_parser().parse_args(["--output_dir", str(tmp_path)])
    assert args.num_att_plot == 0  # the task does not even build the plot iterator

    class RecordingModel(torch.nn.Module):
        calls = 0

        def forward(self, **batch):
            RecordingModel.calls += 1
            raise RuntimeError("the model ran on rank 0 alone")

    batch = (["u0"], {"speech": torch.zeros(1, 1600), "speech_lengths": torch.tensor([1600])})
    reporter = Reporter()
    reporter.set_epoch(1)
    with reporter.observe("att_plot") as sub:  # what Trainer.run does when --num_att_plot > 0
        SLAPTask.trainer.plot_attention(
            model=RecordingModel(), output_dir=tmp_path / "att_ws", summary_writer=None,
            iterator=[batch], reporter=sub, options=SLAPTask.trainer.build_options(args),
        )
    assert RecordingModel.calls == 0
