"""One step count drives every schedule: the learning-rate cycle and the EMA momentum span the
optimizer steps the run really takes, on any world size and across ``--resume`` (issue 20,
item 1). Ranks are simulated: the iterator and the step count only ask torch.distributed
for the rank and the world size."""

import copy
from pathlib import Path

import pytest
import torch
import yaml
from espnet2.tasks.abs_task import scheduler_classes
from espnet2.train.distributed_utils import DistributedOption
from espnet2.train.reporter import Reporter

from espnet2_slap.tasks.slap import SLAPTask

from conftest import TINY_CONFIG
from test_correctness_training import TOKENS

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = yaml.safe_load((ROOT / "conf" / "slap_tiny.yaml").read_text())


def pretend_rank(monkeypatch, rank, world_size):
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: world_size > 1)
    monkeypatch.setattr(torch.distributed, "get_world_size", lambda *a, **k: world_size)
    monkeypatch.setattr(torch.distributed, "get_rank", lambda *a, **k: rank)


def tiny_args(train, max_epoch=3, accum_grad=1):
    """The tiny model with the shipped demo config's scheduler (a short warm-up)."""
    args = SLAPTask.get_parser().parse_args(["--output_dir", "unused"])
    for key, value in copy.deepcopy(TINY_CONFIG).items():
        setattr(args, key, value)
    args.token_list = list(TOKENS)
    args.scheduler = SHIPPED["scheduler"]
    args.scheduler_conf = dict(SHIPPED["scheduler_conf"], warmup_steps=2)
    args.batch_tokens, args.max_epoch, args.accum_grad = 100, max_epoch, accum_grad
    args.train_data_path_and_name_and_type = [(f"{train}/wav.scp", "speech", "sound"),
                                              (f"{train}/text", "text", "text")]
    args.train_shape_file = [f"{train}/speech_shape"]
    return args


def start_run(args, world_size):
    """What ESPnet's main_worker does: model, optimizer, scheduler, training iterator."""
    torch.manual_seed(0)
    model = SLAPTask.build_model(args)
    (optimizer,) = SLAPTask.build_optimizers(args, model)
    scheduler = scheduler_classes[args.scheduler](optimizer, **args.scheduler_conf)
    option = DistributedOption(distributed=world_size > 1, dist_world_size=world_size)
    factory = SLAPTask.build_iter_factory(args, option, "train")
    return model, optimizer, scheduler, factory


def run_epochs(optimizer, scheduler, factory, epochs, accum_grad=1):
    """ESPnet's step loop without the model: one scheduler step per optimizer step.

    Returns the lr each step used and the lr logged after it (``optim0_lr0``)."""
    used, logged = [], []
    for epoch in epochs:
        batches = len(factory.build_iter(epoch))
        for _ in range(batches // accum_grad):
            used.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
            logged.append(optimizer.param_groups[0]["lr"])
    return used, logged


def assert_one_cycle(used, logged, conf):
    peak = used.index(max(used))
    assert max(used) == pytest.approx(conf["max_lr"], rel=1e-9)
    after = used[peak:] + logged[-1:]
    assert all(b <= a for a, b in zip(after, after[1:])), "a second warm-up"
    assert logged[-1] == pytest.approx(conf["min_lr"], rel=1e-9, abs=0)  # the end value


@pytest.mark.parametrize("world_size", [1, 2, 4])
def test_lr_ends_at_the_schedule_end_on_any_world_size(tiny_data, monkeypatch, world_size):
    train, _ = tiny_data
    counts = set()
    for rank in sorted({0, world_size - 1}):
        pretend_rank(monkeypatch, rank, world_size)
        args = tiny_args(train)
        model, optimizer, scheduler, factory = start_run(args, world_size)
        used, logged = run_epochs(optimizer, scheduler, factory, range(1, 4))
        assert_one_cycle(used, logged, args.scheduler_conf)
        # the same count drives the EMA schedule, and the optimizer took exactly that many steps
        assert int(model.ssl_objective.teacher.total_steps) == len(used)
        assert int(model.ssl_objective.teacher.step) == len(used)
        counts.add(len(used))
    assert len(counts) == 1  # every rank plans and takes the same steps


def test_lr_follows_accum_grad(tiny_data):
    args = tiny_args(tiny_data[0], max_epoch=2, accum_grad=2)
    _, optimizer, scheduler, factory = start_run(args, 1)
    used, logged = run_epochs(optimizer, scheduler, factory, range(1, 3), accum_grad=2)
    assert_one_cycle(used, logged, args.scheduler_conf)


def checkpoint(path, model, optimizer, scheduler):
    """Save what ESPnet's Trainer writes to checkpoint.pth."""
    torch.save({"model": model.state_dict(), "reporter": Reporter().state_dict(),
                "optimizers": [optimizer.state_dict()], "schedulers": [scheduler.state_dict()],
                "scaler": None}, path)


def resume(path, args):
    model, optimizer, scheduler, factory = start_run(args, 1)
    SLAPTask.trainer.resume(checkpoint=path, model=model, reporter=Reporter(),
                            optimizers=[optimizer], schedulers=[scheduler], scaler=None)
    return optimizer, scheduler, factory


def test_resumed_run_continues_the_same_curve(tiny_data, tmp_path):
    train, _ = tiny_data
    _, optimizer, scheduler, factory = start_run(tiny_args(train), 1)
    straight = run_epochs(optimizer, scheduler, factory, range(1, 4))

    model, optimizer, scheduler, factory = start_run(tiny_args(train), 1)
    first = run_epochs(optimizer, scheduler, factory, [1])  # interrupted after epoch 1
    checkpoint(tmp_path / "checkpoint.pth", model, optimizer, scheduler)
    args = tiny_args(train)
    optimizer, scheduler, factory = resume(tmp_path / "checkpoint.pth", args)
    rest = run_epochs(optimizer, scheduler, factory, [2, 3])
    assert first[0] + rest[0] == pytest.approx(straight[0], rel=1e-12)
    assert first[1] + rest[1] == pytest.approx(straight[1], rel=1e-12)
    assert_one_cycle(first[0] + rest[0], first[1] + rest[1], args.scheduler_conf)


def test_a_run_extended_on_resume_ends_on_its_new_length(tiny_data, tmp_path):
    """Planned for 2 epochs, resumed with 3: the cycle spans the 3 epochs' steps (as the EMA
    schedule does) instead of restarting its warm-up where the 2 epochs would have ended."""
    train, _ = tiny_data
    model, optimizer, scheduler, factory = start_run(tiny_args(train, max_epoch=2), 1)
    first = run_epochs(optimizer, scheduler, factory, [1])
    checkpoint(tmp_path / "checkpoint.pth", model, optimizer, scheduler)
    args = tiny_args(train, max_epoch=3)
    optimizer, scheduler, factory = resume(tmp_path / "checkpoint.pth", args)
    used, logged = run_epochs(optimizer, scheduler, factory, [2, 3])
    _, fresh_optimizer, fresh, fresh_factory = start_run(tiny_args(train, max_epoch=3), 1)
    fresh_used, fresh_logged = run_epochs(fresh_optimizer, fresh, fresh_factory, [1, 2, 3])
    assert used == pytest.approx(fresh_used[len(first[0]):], rel=1e-12)
    assert logged[-1] == pytest.approx(args.scheduler_conf["min_lr"], rel=1e-9)
    assert all(b <= a for a, b in zip(used, used[1:]))


def test_a_hand_set_cycle_length_is_refused_by_name(tiny_data):
    args = tiny_args(tiny_data[0])
    model = SLAPTask.build_model(args)
    args.scheduler_conf["first_cycle_steps"] = 190
    with pytest.raises(ValueError, match=r"scheduler_conf\.first_cycle_steps: 190 in the config, "
                                         r"but this run takes \d+ optimizer steps"):
        SLAPTask.build_optimizers(args, model)
    args.scheduler_conf = dict(SHIPPED["scheduler_conf"])  # warm-up of 20 steps
    with pytest.raises(ValueError, match=r"scheduler_conf\.warmup_steps: 20 is not shorter"):
        SLAPTask.build_optimizers(args, model)


def test_the_planned_length_reaches_the_config_and_the_log(tiny_data, caplog):
    args = tiny_args(tiny_data[0])
    model = SLAPTask.build_model(args)
    with caplog.at_level("INFO"):
        SLAPTask.build_optimizers(args, model)
    planned = args.scheduler_conf["first_cycle_steps"]  # what config.yaml records
    assert planned == int(model.ssl_objective.teacher.total_steps) > 3
    assert f"planned optimizer steps: {planned} (3 epochs" in caplog.text


def shipped_configs():
    configs = sorted((ROOT / "conf").rglob("*.yaml")) + sorted(ROOT.glob("egs2/*/*/conf/*.yaml"))
    return [p for p in configs if "scheduler" in (yaml.safe_load(p.read_text()) or {})]


@pytest.mark.parametrize("path", shipped_configs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_shipped_config_sets_a_run_length(path):
    from espnet2_slap.train.optimizer_steps import RUN_LENGTH_KEYS

    config = yaml.safe_load(path.read_text())
    key = RUN_LENGTH_KEYS.get(str(config["scheduler"]).lower())
    assert key is None or key not in (config.get("scheduler_conf") or {})
