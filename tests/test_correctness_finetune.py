"""Fine-tuning from a packed SLAP model starts a fresh EMA teacher schedule (issue
"Correctness at scale", item 4): ``--init_param`` used to restore the pretraining step count,
so the momentum was clamped to 1 and the teacher never moved."""

import shutil
from pathlib import Path

import pytest
import torch
import yaml

from espnet2_slap.bin import slap_pack
from espnet2_slap.bin.slap_export_pretrained import PretrainedModelError, export
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


# ------------------------------------------------------------------ the architecture agrees
FINETUNE_TINY = (Path(__file__).resolve().parents[1]
                 / "egs2/audiocaps/slap1/conf/finetune_slap_tiny.yaml")


def export_with(tiny_exp, tmp_path, change):
    """slap_export_pretrained with the tiny fine-tuning config changed by ``change``."""
    config = yaml.safe_load(FINETUNE_TINY.read_text())
    change(config)
    path = tmp_path / "finetune.yaml"
    path.write_text(yaml.safe_dump(config))
    return export(str(tiny_exp), tmp_path / "out", str(path))


@pytest.mark.parametrize("change, problem", [
    (lambda c: c["audio_encoder_conf"].update(num_heads=4),
     "audio_encoder_conf.num_heads: 4 here, 2 pretrained"),
    (lambda c: c["audio_encoder_conf"].update(window_time_steps=8),
     "audio_encoder_conf.window_time_steps: 8 here, 4 pretrained"),
    (lambda c: c["audio_encoder_conf"].update(attention_pattern=["global"]),
     "audio_encoder_conf.attention_pattern: ['global'] here, ['local', 'global'] pretrained"),
    (lambda c: c["model_conf"].update(pooling_heads=4),
     "model_conf.pooling_heads: 4 here, 2 pretrained"),
    (lambda c: c["audio_encoder_conf"].pop("num_heads"),  # the default (12) is another network
     "audio_encoder_conf.num_heads: 12 here, 2 pretrained"),
    (lambda c: c["ssl_conf"]["head_conf"].update(num_layers=3),
     "ssl_conf.head_conf.num_layers: 3 here, 2 pretrained"),
    (lambda c: c["text_encoder_conf"]["config_overrides"].update(num_attention_heads=4),
     "text_encoder_conf (Hugging Face config) num_attention_heads: 4 here, 12 pretrained"),
], ids=["num_heads", "window_time_steps", "attention_pattern", "pooling_heads",
        "default_num_heads", "ssl_head", "text_heads"])
def test_fine_tuning_another_architecture_is_refused(tiny_exp, tmp_path, change, problem):
    """These all load tensor for tensor (same names and shapes) into a different network."""
    with pytest.raises(PretrainedModelError, match="does not match the pretrained model") as err:
        export_with(tiny_exp, tmp_path, change)
    assert problem in str(err.value)


def test_fine_tuning_may_change_how_the_model_trains(tiny_exp, tmp_path):
    def change(config):
        config["audio_encoder_conf"].update(attention_backend="sdpa")
        config["model_conf"].update(caption_weight=1.0, ssl_forward="shared")
        config["ssl_conf"].update(mask_ratio=0.3, momentum_start=0.99,
                                  loss_conf={"teacher_temperature": 0.04})
        config["caption_decoder_conf"].update(dropout=0.0)
        config["text_encoder_conf"].update(pretrained=False)
        config["contrastive_loss_conf"] = {"init_temperature": 0.05}
        config.pop("specaug")
    assert "model.pth" in export_with(tiny_exp, tmp_path, change)
