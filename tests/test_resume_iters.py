"""``--num_iters_per_epoch`` with the packing sampler: the stream of passes and exact resume."""

import argparse
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from espnet2_slap.data.packing_iter_factory import PackingIterFactory, check_accum_grad
from espnet2_slap.data.packing_sampler import TokenBudgetBatchSampler

# Runs slap_train; with KILL_IN_EPOCH=e the process SIGKILLs itself after one step of epoch e
# (counted from the run's first epoch), i.e. after the previous epoch's checkpoint was saved.
RUNNER = textwrap.dedent(
    """
    import os, signal, sys
    from espnet2_slap.train.trainer import SLAPTrainer
    from espnet2_slap.bin.slap_train import main

    kill_in_epoch = int(os.environ.get("KILL_IN_EPOCH", "0"))
    original = SLAPTrainer.train_one_epoch.__func__
    calls = [0]

    def die_after_one_step(iterator):
        for index, item in enumerate(iterator):
            if index == 1:
                os.kill(os.getpid(), signal.SIGKILL)
            yield item

    def train_one_epoch(cls, model, iterator, *args, **kwargs):
        calls[0] += 1
        if calls[0] == kill_in_epoch:
            iterator = die_after_one_step(iterator)
        return original(cls, model, iterator, *args, **kwargs)

    SLAPTrainer.train_one_epoch = classmethod(train_one_epoch)
    main(sys.argv[1:])
    """
)


def test_epochs_of_n_steps_cover_every_clip_once_per_pass():
    rng = np.random.RandomState(3)
    tokens = {f"u{i:03d}": int(n) for i, n in enumerate(rng.randint(1, 40, size=200))}
    sampler = TokenBudgetBatchSampler(tokens, 100, seed=1)
    factory = PackingIterFactory(dataset={}, sampler=sampler, num_iters_per_epoch=7)
    pass_sizes = [len(sampler.batches(p)) for p in (1, 2)]
    epochs = [list(factory.build_iter(e).batch_sampler) for e in range(1, 1 + sum(pass_sizes) // 7)]
    stream = [batch for epoch in epochs for batch in epoch]
    first, second = stream[: pass_sizes[0]], stream[pass_sizes[0] :]
    assert sorted(u for b in first for u in b) == sorted(tokens)
    assert first == sampler.batches(1)  # one pass: the sampler's epoch-1 packing, in order
    assert second == sampler.batches(2)[: len(second)]  # reshuffled only after the pass
    assert len({u for b in second for u in b}) == sum(len(b) for b in second)


def test_num_iters_per_epoch_must_end_on_an_optimizer_step():
    options = argparse.Namespace(train=True, num_iters_per_epoch=6)
    with pytest.raises(ValueError, match="6 must be a multiple of --accum_grad 4"):
        check_accum_grad(argparse.Namespace(accum_grad=4), options)
    check_accum_grad(argparse.Namespace(accum_grad=3), options)
    check_accum_grad(argparse.Namespace(accum_grad=4), argparse.Namespace(
        train=False, num_iters_per_epoch=6))  # validation takes no optimizer step


def run(args, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


@pytest.mark.slow
def test_sigkilled_run_resumes_to_the_uninterrupted_result(
    tiny_config, char_token_list, tiny_data, tmp_path
):
    train, valid = tiny_data
    common = [
        "--config", tiny_config, "--token_list", char_token_list,
        "--train_data_path_and_name_and_type", f"{train}/wav.scp,speech,sound",
        "--train_data_path_and_name_and_type", f"{train}/text,text,text",
        "--valid_data_path_and_name_and_type", f"{valid}/wav.scp,speech,sound",
        "--valid_data_path_and_name_and_type", f"{valid}/text,text,text",
        "--train_shape_file", f"{train}/speech_shape",
        "--valid_shape_file", f"{valid}/speech_shape",
        # 5 batches per data pass: epoch 2 holds the last 2 of pass 1 and the first of pass 2
        "--batch_tokens", 100, "--num_iters_per_epoch", 3, "--max_epoch", 2,
        "--resume", "true",
    ]
    straight_dir, killed_dir = tmp_path / "straight", tmp_path / "killed"
    straight = run([*common, "--output_dir", straight_dir])
    killed = run([*common, "--output_dir", killed_dir], {"KILL_IN_EPOCH": "2"})
    _, killed_err = killed.communicate()
    assert killed.returncode == -signal.SIGKILL, killed_err[-3000:]
    assert (killed_dir / "1epoch.pth").is_file() and not (killed_dir / "2epoch.pth").exists()
    assert "2/2epoch started" in killed_err

    resumed = run([*common, "--output_dir", killed_dir])
    _, resumed_err = resumed.communicate()
    _, straight_err = straight.communicate()
    assert straight.returncode == 0, straight_err[-3000:]
    assert resumed.returncode == 0, resumed_err[-3000:]
    assert "1/2epoch started" not in resumed_err  # it resumed from the epoch-1 checkpoint
    assert "2/2epoch started" in resumed_err

    expected = torch.load(straight_dir / "checkpoint.pth", map_location="cpu", weights_only=False)
    actual = torch.load(killed_dir / "checkpoint.pth", map_location="cpu", weights_only=False)
    teacher_keys = [k for k in expected["model"] if ".teacher." in k]
    assert teacher_keys and int(expected["model"]["ssl_objective.teacher.step"]) == 2 * 3
    for name, value in expected["model"].items():
        torch.testing.assert_close(actual["model"][name], value, rtol=0, atol=1e-6,
                                   msg=lambda message, name=name: f"{name}: {message}")
    expected_optim, actual_optim = expected["optimizers"][0], actual["optimizers"][0]
    for index, state in expected_optim["state"].items():
        for key, value in state.items():
            torch.testing.assert_close(
                actual_optim["state"][index][key], value, rtol=0, atol=1e-6,
                msg=lambda message, where=f"{index}.{key}": f"{where}: {message}",
            )
