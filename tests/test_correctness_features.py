"""A clip's features and SpecAugment masks do not depend on its batch, and training batches
and ``SLAPInference`` embed a clip alike (issue "Correctness at scale", items 7 and 8)."""

import numpy as np
import pytest
import torch

from espnet2_slap.inference import SLAPInference

from conftest import TINY_CONFIG
from test_multi_objective import build

RATE = 16000


def clip(seconds, freq, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    wave = 0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.size)
    return torch.from_numpy(wave.astype(np.float32))


def batch_of(*clips):
    lengths = torch.tensor([c.numel() for c in clips])
    return torch.nn.utils.rnn.pad_sequence(list(clips), batch_first=True), lengths


def test_features_of_a_clip_do_not_depend_on_its_batch():
    """Framed over a padded batch, a short clip's last frames saw zero padding (instead of
    its own reflect padding) and utterance normalisation spread that to every frame."""
    model, _ = build()  # utterance_mvn
    model.eval()
    short, long = clip(0.73, 300, 0), clip(2.4, 500, 1)
    alone, alone_len = model.extract_feats(*batch_of(short))
    together, together_len = model.extract_feats(*batch_of(short, long))
    assert int(together_len[0]) == int(alone_len[0])
    torch.testing.assert_close(together[0, : alone_len[0]], alone[0], rtol=0, atol=1e-5)
    # the same holds for collect-stats features (GlobalMVN statistics); padding stays zero
    stats_alone = model.collect_feats(*batch_of(short))["feats"]
    stats_together = model.collect_feats(*batch_of(short, long))["feats"]
    torch.testing.assert_close(stats_together[0, : stats_alone.size(1)], stats_alone[0], rtol=0, atol=1e-5)
    assert torch.all(stats_together[0, stats_alone.size(1):] == 0)


def test_training_batch_and_inference_embed_a_clip_alike(tiny_exp):
    slap = SLAPInference(tiny_exp / "config.yaml", tiny_exp / "model.pth")
    clips = [clip(0.9, 300, 2), clip(2.3, 700, 3), clip(1.4, 450, 4)]
    inferred = slap.embed_audio([c.numpy() for c in clips], RATE)
    with torch.no_grad():
        batched = slap.model.embed_audio(*batch_of(*clips)).numpy()  # as a training batch
    np.testing.assert_allclose(batched, inferred, atol=1e-5)


def test_clips_shorter_than_a_window_are_framed_as_at_inference(tiny_exp):
    slap = SLAPInference(tiny_exp / "config.yaml", tiny_exp / "model.pth")
    tiny = clip(0.01, 300, 5)  # 160 samples: less than one 512-sample FFT window
    inferred = slap.embed_audio(tiny.numpy(), RATE)
    with torch.no_grad():
        batched = slap.model.embed_audio(*batch_of(tiny, clip(1.2, 500, 6)))[:1].numpy()
    np.testing.assert_allclose(batched, inferred, atol=1e-5)


def test_time_masks_are_drawn_from_each_clip_length():
    """SpecAugment drew time-mask widths and positions from the padded batch length: a 1 s
    clip next to a 10 s one was mostly left unmasked (or masked by half)."""
    specaug_conf = {
        "apply_time_warp": False, "apply_freq_mask": False, "apply_time_mask": True,
        "time_mask_width_ratio_range": [0.1, 0.2], "num_time_mask": 1,
    }
    torch.manual_seed(0)
    model, _ = build(specaug_conf=specaug_conf, normalize=None, normalize_conf={})
    short, long = clip(1.0, 300, 7), clip(10.0, 500, 8)
    speech, lengths = batch_of(short, long)
    model.eval()
    clean, feats_lengths = model.extract_feats(speech, lengths)
    frames = int(feats_lengths[0])
    model.train()
    masked_fractions = []
    for _ in range(30):
        augmented, _ = model.extract_feats(speech, lengths)
        masked = (augmented[0, :frames] != clean[0, :frames]).any(dim=-1)
        masked_fractions.append(float(masked.float().mean()))
    assert min(masked_fractions) >= 0.09, masked_fractions
    assert max(masked_fractions) <= 0.21, masked_fractions


def test_per_clip_specaug_keeps_clip_lengths_and_padding():
    model, _ = build(normalize=None, normalize_conf={})
    model.train()
    speech, lengths = batch_of(clip(0.5, 300, 9), clip(1.5, 500, 10))
    feats, feats_lengths = model.extract_feats(speech, lengths)
    assert feats_lengths.tolist() == [51, 151]  # samples // hop + 1
    assert torch.all(feats[0, 51:] == 0)
