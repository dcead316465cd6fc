"""The attention backends compute the same masked attention as a naive dense reference."""

import pytest
import torch

from espnet2_slap.audio.padded_baseline import padded_attention
from espnet2_slap.layers.attention_backends import packed_attention, resolve_backend
from espnet2_slap.layers.packed_batch import PackedBatch


def naive_attention(q, k, v, lengths, window):
    """Dense softmax over the whole pack with an explicit (sample, band) mask."""
    seg = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths))
    idx = torch.arange(q.size(0))
    allowed = seg[:, None] == seg[None, :]
    if window is not None:
        allowed &= (idx[:, None] - idx[None, :]).abs() <= window
    scores = torch.einsum("ihd,jhd->hij", q, k) / q.size(-1) ** 0.5
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.einsum("hij,jhd->ihd", scores.softmax(-1), v)


def random_qkv(lengths, heads=2, head_dim=8):
    n = sum(lengths)
    return [torch.randn(n, heads, head_dim, dtype=torch.float64) for _ in range(3)]


def cu(lengths):
    return PackedBatch(torch.zeros(sum(lengths)), torch.tensor(lengths)).cu_seqlens


@pytest.mark.parametrize("window", [None, 1, 3, 8, 100])
@pytest.mark.parametrize("lengths", [[1], [5, 1, 17], [40, 3, 9, 26]])
def test_sdpa_matches_naive_dense_mask(lengths, window):
    q, k, v = random_qkv(lengths)
    out = packed_attention(q, k, v, cu(lengths), max(lengths), window, backend="sdpa")
    ref = naive_attention(q, k, v, lengths, window)
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("window", [None, 4])
def test_padded_layout_matches_packed(window):
    lengths = [13, 2, 30]
    q, k, v = random_qkv(lengths)
    packed = packed_attention(q, k, v, cu(lengths), 30, window, backend="sdpa")
    pad = [PackedBatch(t, torch.tensor(lengths)).to_padded() for t in (q, k, v)]
    (qp, valid), (kp, _), (vp, _) = pad
    out = padded_attention(qp, kp, vp, valid, window)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[valid], packed, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("window", [None, 3])
def test_no_attention_outside_window_or_sample(window):
    """d out_i / d v_j is exactly zero unless j is in i's sample and window."""
    lengths = [12, 9]
    q, k, v = random_qkv(lengths)
    v.requires_grad_(True)
    out = packed_attention(q, k, v, cu(lengths), 12, window, backend="sdpa")
    seg = torch.repeat_interleave(torch.arange(2), torch.tensor(lengths))
    for i in range(sum(lengths)):
        (grad,) = torch.autograd.grad(out[i].sum(), v, retain_graph=True)
        reach = grad.abs().sum(dim=(1, 2)) != 0
        j = torch.arange(sum(lengths))
        allowed = seg == seg[i]
        if window is not None:
            allowed &= (j - i).abs() <= window
        assert torch.equal(reach, allowed), f"query {i}"


def test_backend_errors_are_explicit_on_cpu():
    cpu = torch.device("cpu")
    assert resolve_backend("auto", cpu) == "sdpa"
    assert resolve_backend("sdpa", cpu) == "sdpa"
    with pytest.raises(RuntimeError, match="torch_varlen"):
        resolve_backend("torch_varlen", cpu)
    with pytest.raises(RuntimeError, match="flash_attn"):
        resolve_backend("flash_attn", cpu)
    with pytest.raises(ValueError, match="unknown attention backend"):
        resolve_backend("xformers", cpu)
    q, k, v = random_qkv([4])
    with pytest.raises(ValueError, match="window"):
        packed_attention(q, k, v, cu([4]), 4, window_radius=0, backend="sdpa")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("backend", ["torch_varlen", "flash_attn"])
@pytest.mark.parametrize("window", [None, 48])
def test_gpu_backends_match_sdpa(backend, window):
    try:
        resolve_backend(backend, torch.device("cuda"))
    except RuntimeError as err:
        pytest.skip(str(err))
    lengths = [300, 17, 752, 64]
    q, k, v = (t.float().cuda() for t in random_qkv(lengths, heads=4, head_dim=64))
    ref = packed_attention(q, k, v, cu(lengths).cuda(), 752, window, backend="sdpa")
    q, k, v = (t.bfloat16() for t in (q, k, v))
    out = packed_attention(q, k, v, cu(lengths).cuda(), 752, window, backend=backend)
    torch.testing.assert_close(out.float(), ref, atol=2e-2, rtol=2e-2)


# Clips of 1, 7, 30 and 13 s: 16-frame patches of 10 ms frames, 4 frequency patches per step.
GPU_CLIP_TOKENS = [28, 176, 752, 328]


def gpu_backend_or_skip(backend):
    try:
        resolve_backend(backend, torch.device("cuda"))
    except RuntimeError as err:
        pytest.skip(str(err))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("backend", ["torch_varlen", "flash_attn"])
@pytest.mark.parametrize("window", [None, 48])  # global; local = 12 steps x 4 patches
def test_gpu_backends_match_sdpa_forward_and_backward(backend, window):
    gpu_backend_or_skip(backend)
    lengths = GPU_CLIP_TOKENS
    cu_seqlens = cu(lengths).cuda()
    q, k, v = (t.float().cuda().requires_grad_() for t in random_qkv(lengths, 4, 64))
    upstream = torch.randn(sum(lengths), 4, 64, device="cuda")
    ref = packed_attention(q, k, v, cu_seqlens, max(lengths), window, backend="sdpa")
    ref_grads = torch.autograd.grad((ref * upstream).sum(), (q, k, v))
    low = [t.detach().bfloat16().requires_grad_() for t in (q, k, v)]
    out = packed_attention(*low, cu_seqlens, max(lengths), window, backend=backend)
    grads = torch.autograd.grad((out.float() * upstream).sum(), low)
    torch.testing.assert_close(out.float(), ref, atol=2e-2, rtol=2e-2)
    for grad, ref_grad in zip(grads, ref_grads):
        scale = ref_grad.abs().max()
        torch.testing.assert_close(grad.float() / scale, ref_grad / scale, atol=3e-2, rtol=0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("backend", ["torch_varlen", "flash_attn"])
def test_gpu_encoder_backends_agree_under_bf16(backend):
    """The whole encoder (local and global layers) on 1-30 s clips, bf16 autocast."""
    from espnet2_slap.audio.slap_encoder import SLAPAudioEncoder

    gpu_backend_or_skip(backend)
    conf = dict(output_size=256, num_layers=3, num_heads=4, mlp_hidden_size=512)
    torch.manual_seed(0)
    reference = SLAPAudioEncoder(attention_backend="sdpa", **conf).cuda()
    candidate = SLAPAudioEncoder(attention_backend=backend, **conf).cuda()
    candidate.load_state_dict(reference.state_dict())
    frames = torch.tensor([100, 700, 3000, 1300], device="cuda")
    feats = torch.randn(4, 3000, 64, device="cuda")
    outputs, grads = [], []
    for encoder in (reference, candidate):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = encoder(feats, frames).values.float()
        out.square().mean().backward()
        outputs.append(out)
        grads.append(encoder.patch_embed.weight.grad)
    assert outputs[0].shape[0] == sum(GPU_CLIP_TOKENS)
    cosine = torch.nn.functional.cosine_similarity(outputs[0], outputs[1], dim=-1)
    assert cosine.min() > 0.99
    cosine = torch.nn.functional.cosine_similarity(grads[0].flatten(), grads[1].flatten(), dim=0)
    assert cosine > 0.99


def _graphs():
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def test_sdpa_local_traces_whole_with_a_symbolic_pack_length():
    """Under torch.compile (SLAPAudioEncoder(compile=True)) the local sdpa path is one graph
    (fullgraph: no break) that serves packs of any length: no recompilation per pack."""
    radius = 8

    def local(q, k, v, cu_seqlens):
        return packed_attention(q, k, v, cu_seqlens, 0, radius, backend="sdpa")

    compiled = torch.compile(local, backend="eager", fullgraph=True, dynamic=True)
    before = _graphs()
    for lengths in ([40, 3, 9, 26], [5, 17], [100, 1, 33], [12, 12, 12, 12, 12, 7]):
        q, k, v = random_qkv(lengths)
        out = compiled(q, k, v, cu(lengths))
        torch.testing.assert_close(out, naive_attention(q, k, v, lengths, radius),
                                   atol=1e-12, rtol=1e-10)
    assert _graphs() - before == 1


def test_sdpa_global_stays_out_of_the_graph():
    """The global sdpa path loops over the pack's samples (a data-dependent split): it is
    excluded from compiled graphs (torch.compiler.disable) instead of being traced, and
    re-specialised, for every pack; the code around it still compiles once."""

    def block(q, k, v, cu_seqlens):
        return packed_attention(q * 2, k, v, cu_seqlens, 0, None, backend="sdpa") + 1

    compiled = torch.compile(block, backend="eager", dynamic=True)
    before = _graphs()
    for lengths in ([40, 3, 9, 26], [5, 17], [100, 1, 33]):
        q, k, v = random_qkv(lengths)
        out = compiled(q, k, v, cu(lengths))
        torch.testing.assert_close(out, naive_attention(q * 2, k, v, lengths, None) + 1,
                                   atol=1e-12, rtol=1e-10)
    assert _graphs() - before == 2  # before and after the attention, whatever the pack
