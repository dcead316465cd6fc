"""The packed SLAP audio encoder: isolation between samples, layouts and structure."""

import pytest
import torch

from espnet2_slap.audio.padded_baseline import PaddedBaselineEncoder
from espnet2_slap.audio.slap_encoder import SLAPAudioEncoder
from espnet2_slap.layers.attention_pooling import AttentionPooling

PATTERNS = {"local": ["local"], "global": ["global"], "paper": ["local", "local", "global"]}


def tiny_encoder(pattern, encoder_class=SLAPAudioEncoder, **kwargs):
    conf = dict(
        input_size=64,
        output_size=32,
        num_layers=3,
        num_heads=2,
        mlp_hidden_size=64,
        attention_pattern=PATTERNS[pattern],
        window_time_steps=4,
    )
    conf.update(kwargs)
    return encoder_class(**conf).eval()


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_clip_alone_equals_clip_inside_pack(pattern):
    encoder = tiny_encoder(pattern)
    pooling = AttentionPooling(32, 16, num_heads=2).eval()
    lengths = torch.tensor([300, 17, 161, 64])
    feats = torch.randn(4, 300, 64)
    with torch.no_grad():
        packed = encoder(feats, lengths)
        padded, valid = packed.to_padded()
        pooled = pooling(padded, valid)
        for i in range(4):
            alone = encoder(feats[i : i + 1, : lengths[i]], lengths[i : i + 1])
            assert (alone.values - packed.split()[i]).abs().max() <= 1e-5
            alone_pooled = pooling(alone.values[None], torch.ones(1, alone.values.size(0), dtype=torch.bool))
            assert (alone_pooled[0] - pooled[i]).abs().max() <= 1e-5


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_no_gradient_flows_between_samples(pattern):
    encoder = tiny_encoder(pattern)
    lengths = torch.tensor([90, 45, 130])
    feats = torch.randn(3, 130, 64, requires_grad=True)
    out = encoder(feats, lengths)
    (grad,) = torch.autograd.grad(out.split()[1].sum(), feats)
    assert grad[0].abs().max() == 0
    assert grad[2].abs().max() == 0
    assert grad[1].abs().max() > 0


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_padded_path_matches_packed_path(pattern):
    encoder = tiny_encoder(pattern)
    lengths = torch.tensor([200, 33, 120])
    feats = torch.randn(3, 200, 64)
    baseline = tiny_encoder(pattern, PaddedBaselineEncoder)
    baseline.load_state_dict(encoder.state_dict())
    with torch.no_grad():
        packed = encoder(feats, lengths)
        padded = baseline(feats, lengths)
    assert torch.equal(packed.lengths, padded.lengths)
    assert (packed.values - padded.values).abs().max() <= 1e-5


def test_local_layer_sees_only_its_window():
    """With one local layer, a token's output ignores patches further than the window."""
    encoder = tiny_encoder("local", num_layers=1, window_time_steps=4)  # +-2 steps = 8 tokens
    assert encoder.window_radius == 8
    feats = torch.randn(1, 16 * 20, 64)
    lengths = torch.tensor([16 * 20])
    with torch.no_grad():
        before = encoder(feats, lengths).values
        changed = feats.clone()
        changed[0, 16 * 15 :] += 5.0  # time steps 15.. change
        after = encoder(changed, lengths).values
    step = torch.arange(before.size(0)) // 4
    token = torch.arange(before.size(0))
    first_changed = 15 * 4
    unaffected = token < first_changed - 8
    assert torch.equal(before[unaffected], after[unaffected])
    assert not torch.allclose(before[token >= first_changed - 8], after[token >= first_changed - 8])
    assert step.max() == 19


def test_token_mask_uses_the_mask_token():
    encoder = tiny_encoder("paper")
    lengths = torch.tensor([64, 32])
    feats = torch.randn(2, 64, 64)
    n = int(encoder.num_tokens(lengths).sum())
    with torch.no_grad():
        plain = encoder(feats, lengths)
        none_masked = encoder(feats, lengths, token_mask=torch.zeros(n, dtype=torch.bool))
        mask = torch.zeros(n, dtype=torch.bool)
        mask[3] = True
        masked = encoder(feats, lengths, token_mask=mask)
        # the masked token's input no longer depends on its own patch
        other = feats.clone()
        other[0, :16, 48:64] += 3.0  # patch (time 0, band 3) = token 3
        masked_other = encoder(other, lengths, token_mask=mask)
    torch.testing.assert_close(none_masked.values, plain.values)
    assert not torch.allclose(masked.values, plain.values)
    torch.testing.assert_close(masked_other.values, masked.values)
    with pytest.raises(ValueError, match="token_mask"):
        encoder(feats, lengths, token_mask=torch.zeros(n + 1, dtype=torch.bool))


def test_paper_architecture():
    encoder = SLAPAudioEncoder()  # the paper's defaults
    assert encoder.layer_kinds == ["local", "local", "global"] * 4
    assert encoder.window_radius == 12 * 4  # 24 time steps wide, 4 frequency patches each
    assert encoder.output_size() == 768
    linears = [m for m in encoder.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(m.bias is None for m in linears)
    norms = [m for m in encoder.modules() if isinstance(m, (torch.nn.LayerNorm, torch.nn.RMSNorm))]
    assert norms and all(isinstance(m, torch.nn.RMSNorm) for m in norms)
    block = encoder.blocks[0]
    assert block.attn.num_heads == 12
    assert block.mlp.down.in_features == 3072
    with pytest.raises(ValueError, match="attention_pattern"):
        SLAPAudioEncoder(attention_pattern=["local", "dilated"])


@pytest.mark.slow  # torch.compile's first compilation: about a minute on 2 CPU cores
def test_compiled_encoder_matches_eager_and_compiles_once_for_all_packs():
    """``compile=True``: the same outputs and gradients as eager (float tolerance), the same
    state dict, a working deep copy (the EMA teacher), and no recompilation for new packs."""
    import copy

    from torch._dynamo.utils import counters

    torch.manual_seed(0)
    eager = tiny_encoder("paper").train()
    compiled = tiny_encoder("paper", compile=True).train()
    compiled.load_state_dict(eager.state_dict())
    assert list(compiled.state_dict()) == list(eager.state_dict())
    checkpointed = tiny_encoder("paper", compile=True, activation_checkpointing=True).train()
    checkpointed.load_state_dict(eager.state_dict())

    def step(encoder, feats, lengths):
        encoder.zero_grad(set_to_none=True)
        out = encoder(feats, lengths)
        (out.values.square().mean() + out.values[::7].sum()).backward()
        return out.values.detach(), {n: p.grad for n, p in encoder.named_parameters()
                                     if p.grad is not None}

    graphs = []
    packs = [[300, 90, 33], [161, 17, 64, 250], [48, 200], [130, 130, 7, 99, 260]]
    for i, frames in enumerate(packs):  # every pack a new total length and clip count
        lengths = torch.tensor(frames)
        feats = torch.randn(len(frames), max(frames), 64)
        ref_out, ref_grads = step(eager, feats, lengths)
        for encoder in (compiled, checkpointed) if i == 0 else (compiled,):
            out, grads = step(encoder, feats, lengths)
            torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-5)
            assert grads.keys() == ref_grads.keys()
            for name, grad in grads.items():
                scale = ref_grads[name].abs().max()
                assert (grad - ref_grads[name]).abs().max() <= 1e-5 * scale, name
        graphs.append(counters["stats"]["unique_graphs"])
    assert graphs[0] > 0 and graphs[-1] == graphs[0], graphs  # compiled once, for every pack

    teacher = copy.deepcopy(compiled).eval()  # as the EMA teacher copies the student
    with torch.no_grad():
        feats, lengths = torch.randn(2, 120, 64), torch.tensor([120, 70])
        torch.testing.assert_close(teacher(feats, lengths).values, eager.eval()(feats, lengths).values,
                                   rtol=1e-5, atol=1e-5)
