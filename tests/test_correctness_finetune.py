"""Fine-tuning from a packed SLAP model starts a fresh EMA teacher schedule (issue
"Correctness at scale", item 4): ``--init_param`` used to restore the pretraining step count,
so the momentum was clamped to 1 and the teacher never moved."""

import shutil

import pytest
import torch

from espnet2_slap.bin import slap_pack
from espnet2_slap.utils.model_source import unpack_packed_model

from test_slap_task import data_args, run_train

PRETRAINING_STEPS = 106000  # the paper's schedule: 2 epochs x 109M pairs / 2048
TEACHER = "ssl_objective.teacher.module.encoder."
STUDENT = "audio_encoder."


def pretrained_archive(tiny_exp, tmp_path):
    """The tiny experiment as if pretrained for 106000 steps (its teacher away from its
    student), packed with slap_pack."""
    exp = tmp_path / "pretrained"
    shutil.copytree(tiny_exp, exp)
    state = torch.load(exp / "model.pth", map_location="cpu")
    state["ssl_objective.teacher.step"] = torch.tensor(PRETRAINING_STEPS)
    generator = torch.Generator().manual_seed(0)
    for key in [k for k in state if k.startswith(TEACHER) and state[k].is_floating_point()]:
        state[key] = state[key] + torch.randn(state[key].shape, generator=generator)
    torch.save(state, exp / "model.pth")
    archive = tmp_path / "pretrained.zip"
    slap_pack.main(["--slap_train_config", str(exp / "config.yaml"),
                    "--slap_model_file", str(exp / "model.pth"), "--outpath", str(archive)])
    return archive


def distance(state_a, prefix_a, state_b, prefix_b):
    keys = [k[len(prefix_a):] for k in state_a if k.startswith(prefix_a)]
    return sum(float((state_a[prefix_a + k] - state_b[prefix_b + k]).norm()) for k in keys)


@pytest.mark.slow
def test_finetuning_from_a_packed_model_restarts_the_teacher_schedule(
    tiny_exp, tiny_config, char_token_list, tiny_data, tmp_path
):
    files = unpack_packed_model(pretrained_archive(tiny_exp, tmp_path), tmp_path / "unpacked")
    loaded = torch.load(files["slap_model_file"], map_location="cpu")
    stats_file = next((tmp_path / "unpacked").rglob("feats_stats.npz"))
    exp = tmp_path / "finetune"
    result = run_train(
        "--config", tiny_config, "--token_list", char_token_list, *data_args(*tiny_data),
        "--normalize", "global_mvn", "--normalize_conf", f"stats_file={stats_file}",
        "--init_param", files["slap_model_file"], "--batch_tokens", 200,
        "--max_epoch", 1, "--output_dir", exp, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    tuned = torch.load(exp / "1epoch.pth", map_location="cpu")

    steps = int(tuned["ssl_objective.teacher.step"])
    assert 2 <= steps < 100  # this run's steps, not 106000 + them
    # the teacher restarted from the loaded student and then trailed the fine-tuned student:
    # it is near the loaded student, far from the loaded (pretraining) teacher, and moved
    from_loaded_student = distance(tuned, TEACHER, loaded, STUDENT)
    from_loaded_teacher = distance(tuned, TEACHER, loaded, TEACHER)
    assert from_loaded_student < 0.1 * from_loaded_teacher
    assert from_loaded_student > 0
    assert "ema_momentum" in result.stderr
