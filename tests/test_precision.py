"""Mixed precision (bf16 autocast on CPU) and activation checkpointing.

Stated tolerances (CPU, tiny model, bf16 autocast vs float32):
* each loss term within 5% relative (bf16 keeps 8 mantissa bits; the encoders' matmuls run
  in bf16, the losses' logits, Sinkhorn-Knopp and softmaxes in float32);
* audio and text embeddings: cosine similarity >= 0.99 to the float32 ones;
* the contrastive and SSL-score computations alone: equal to float32 within 1e-5 when fed the
  same inputs (they run with autocast off).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from espnet2_slap.audio.padded_baseline import PaddedBaselineEncoder
from espnet2_slap.audio.slap_encoder import SLAPAudioEncoder
from espnet2_slap.losses.infonce import InfoNCELoss
from espnet2_slap.losses.sigmoid import SigmoidLoss
from espnet2_slap.ssl.head import SSLProjectionHead
from espnet2_slap.tasks.slap import SLAPTask
from espnet2_slap.train.trainer import cpu_autocast

LOSS_RTOL = 0.05
MIN_EMBEDDING_COSINE = 0.99


def build_model_and_batch(tiny_config, char_token_list):
    args = SLAPTask.get_parser().parse_args(
        ["--config", str(tiny_config), "--token_list", str(char_token_list),
         "--output_dir", "unused", "--specaug", "none"]
    )
    torch.manual_seed(0)
    model = SLAPTask.build_model(args)
    model.ssl_objective.teacher.set_total_steps(10)
    preprocess = SLAPTask.build_preprocess_fn(args, train=False)
    collate = SLAPTask.build_collate_fn(args, train=True)
    rng = np.random.default_rng(0)
    t = np.arange(48000) / 16000
    items = [
        (f"u{i}", preprocess(f"u{i}", {
            "speech": (np.sin(2 * np.pi * f * t[:n])
                       + 0.1 * rng.standard_normal(n)).astype(np.float32),
            "text": caption,
        }))
        for i, (n, f, caption) in enumerate([
            (16000, 300, "a dog barks"), (8000, 700, "a bell rings"),
            (48000, 1200, "a man speaks"), (24000, 200, "a piano plays"),
        ])
    ]
    return model, collate(items)[1]


def forward(model, batch, autocast: bool):
    torch.manual_seed(1)  # the same SSL mask in both runs
    with cpu_autocast(autocast, ngpu=0):
        loss, stats, _ = model(**batch)
        audio = model.embed_audio(batch["speech"], batch["speech_lengths"])
        text = model.embed_text(batch["text"], batch["text_lengths"])
    return loss, stats, audio.float(), text.float()


def test_bf16_autocast_agrees_with_float32(tiny_config, char_token_list):
    model, batch = build_model_and_batch(tiny_config, char_token_list)
    model.eval()  # no EMA-center update between the two runs
    _, stats32, audio32, text32 = forward(model, batch, autocast=False)
    loss16, stats16, audio16, text16 = forward(model, batch, autocast=True)
    assert torch.isfinite(loss16)
    for key in ("loss_clap", "loss_ssl", "loss_cap", "loss"):
        torch.testing.assert_close(stats16[key].float(), stats32[key].float(),
                                   rtol=LOSS_RTOL, atol=0.0, msg=key)
    assert F.cosine_similarity(audio16, audio32).min() >= MIN_EMBEDDING_COSINE
    assert F.cosine_similarity(text16, text32).min() >= MIN_EMBEDDING_COSINE
    # the bf16 run really ran in bf16 (otherwise the comparison proves nothing)
    with cpu_autocast(True, ngpu=0):
        assert model.audio_encoder.patch_embed(torch.ones(1, 256)).dtype == torch.bfloat16


def test_bf16_training_step_runs_and_moves_the_weights(tiny_config, char_token_list):
    model, batch = build_model_and_batch(tiny_config, char_token_list)
    before = model.audio_encoder.patch_embed.weight.detach().clone()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    with cpu_autocast(True, ngpu=0):
        loss, _, _ = model(**batch)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    optimizer.step()
    assert model.audio_encoder.patch_embed.weight.dtype == torch.float32
    assert not torch.equal(model.audio_encoder.patch_embed.weight, before)


@pytest.mark.parametrize("loss_class", [InfoNCELoss, SigmoidLoss])
def test_contrastive_logits_stay_float32_under_autocast(loss_class):
    torch.manual_seed(0)
    loss_fn = loss_class(init_temperature=0.01)  # logits up to 100, where bf16 steps by 0.5
    audio = F.normalize(torch.randn(16, 32), dim=-1)
    text = F.normalize(audio + 0.3 * torch.randn(16, 32), dim=-1)
    expected, _ = loss_fn(audio, text)
    with cpu_autocast(True, ngpu=0):
        actual, _ = loss_fn(audio, text)
    assert actual.dtype == torch.float32
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


def test_ssl_scores_are_float32_under_autocast():
    torch.manual_seed(0)
    head = SSLProjectionHead(32, hidden_size=64, bottleneck_size=16, num_prototypes=64)
    tokens = torch.randn(50, 32)
    with cpu_autocast(True, ngpu=0):
        scores = head(tokens)
        # the same bf16 MLP output, scored in float32 by hand
        hidden = head.mlp(tokens)
    assert scores.dtype == torch.float32
    expected = F.normalize(hidden.float(), dim=-1, eps=1e-6) @ F.normalize(
        head.prototypes, dim=-1, eps=1e-6).t()
    torch.testing.assert_close(scores, expected, rtol=1e-5, atol=1e-5)


def test_cpu_autocast_only_with_use_amp_on_cpu():
    with cpu_autocast(True, ngpu=0):
        assert torch.is_autocast_enabled("cpu")
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16
    for use_amp, ngpu in ((False, 0), (True, 1)):
        with cpu_autocast(use_amp, ngpu):
            assert not torch.is_autocast_enabled("cpu")


@pytest.mark.parametrize("packed", [True, False])
def test_activation_checkpointing_gives_the_same_gradients(packed):
    conf = dict(output_size=32, num_layers=3, num_heads=2, mlp_hidden_size=64,
                attention_pattern=["local", "global"], window_time_steps=4)
    encoder_class = SLAPAudioEncoder if packed else PaddedBaselineEncoder
    torch.manual_seed(0)
    plain = encoder_class(**conf)
    checkpointed = encoder_class(**conf, activation_checkpointing=True)
    checkpointed.load_state_dict(plain.state_dict())
    feats = torch.randn(3, 200, 64)
    lengths = torch.tensor([200, 90, 33])

    block_calls = []
    for block in checkpointed.blocks:
        block.register_forward_pre_hook(lambda *_: block_calls.append(1))
    grads = []
    for encoder in (plain, checkpointed):
        encoder.train()
        out = encoder(feats, lengths)
        (out.values.square().mean() + out.values[::7].sum()).backward()
        grads.append({n: p.grad.clone() for n, p in encoder.named_parameters()
                      if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 0
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], rtol=1e-5, atol=1e-7, msg=name)
    # every block ran twice: once forward, once recomputed in the backward pass
    assert len(block_calls) == 2 * len(checkpointed.blocks)
    # no recomputation at inference (no graph is kept there anyway)
    block_calls.clear()
    with torch.no_grad():
        checkpointed(feats, lengths)
    assert len(block_calls) == len(checkpointed.blocks)
