"""Varlen self-attention over packed sequences, with three interchangeable backends.

All backends compute the same function: every token attends to the tokens of its own
sample only, and for a *local* (sliding-window) layer only to tokens whose index differs
from its own by at most ``window_radius`` (the sliding-window rule of docs/design.md).

* ``flash_attn``: ``flash_attn.flash_attn_varlen_func`` with ``window_size``. CUDA, fp16/bf16,
  optional package (``pip install espnet2_slap[gpu]``).
* ``torch_varlen``: ``torch.nn.attention.varlen.varlen_attn`` with ``window_size``. CUDA,
  fp16/bf16, no extra package.
* ``sdpa``: ``torch.nn.functional.scaled_dot_product_attention``; runs anywhere and is the
  exact reference. Global layers loop over samples; local layers process the whole pack in
  blocks of ``window_radius`` queries against their ``3 * window_radius`` neighbouring keys,
  so their cost grows linearly with duration.

The GPU kernels need half precision: fp32 inputs are cast to bf16 for the kernel and the
result is cast back.

Under ``torch.compile`` (``SLAPAudioEncoder(compile=True)``): both GPU kernels are custom
operators that compile into the block's graph with symbolic lengths; ``sdpa``'s global path
loops over the samples of the pack (a data-dependent split), so it is excluded from the graph
(``torch.compiler.disable``) rather than traced per pack; its local path traces as it is.
"""

from typing import Optional

import torch
import torch.nn.functional as F

BACKENDS = ("auto", "sdpa", "torch_varlen", "flash_attn")


# Kernel look-ups, done once: under torch.compile a traced call then reads a constant
# instead of running an import (and catching its ImportError) inside the graph.
_KERNELS = {}


def _flash_attn_varlen_func():
    if "flash_attn" not in _KERNELS:
        try:
            from flash_attn import flash_attn_varlen_func
        except ImportError:
            flash_attn_varlen_func = None
        _KERNELS["flash_attn"] = flash_attn_varlen_func
    return _KERNELS["flash_attn"]


def _torch_varlen_attn():
    if "torch_varlen" not in _KERNELS:
        try:
            from torch.nn.attention.varlen import varlen_attn
        except ImportError:
            varlen_attn = None
        _KERNELS["torch_varlen"] = varlen_attn
    return _KERNELS["torch_varlen"]


def resolve_backend(name: str, device: torch.device) -> str:
    """Turn ``name`` (one of :data:`BACKENDS`) into a backend that runs on ``device``.

    ``auto`` picks ``flash_attn`` when installed on CUDA, else ``torch_varlen`` on CUDA, else
    ``sdpa``. An explicit backend that cannot run on ``device`` raises ``RuntimeError``; there
    is no silent fallback.
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown attention backend {name!r}; choose one of {BACKENDS}")
    on_cuda = device.type == "cuda"
    if name == "auto":
        if on_cuda and _flash_attn_varlen_func() is not None:
            return "flash_attn"
        if on_cuda and _torch_varlen_attn() is not None:
            return "torch_varlen"
        return "sdpa"
    if name == "flash_attn":
        if _flash_attn_varlen_func() is None:
            raise RuntimeError(
                "attention backend 'flash_attn' needs the flash-attn package "
                "(pip install 'espnet2_slap[gpu]'); use 'torch_varlen' or 'sdpa' instead"
            )
        if not on_cuda:
            raise RuntimeError(
                f"attention backend 'flash_attn' needs a CUDA device, got {device}; use 'sdpa'"
            )
    if name == "torch_varlen":
        if _torch_varlen_attn() is None:
            raise RuntimeError(
                "attention backend 'torch_varlen' needs torch.nn.attention.varlen "
                f"(PyTorch >= 2.10), this is {torch.__version__}; use 'sdpa'"
            )
        if not on_cuda:
            raise RuntimeError(
                f"attention backend 'torch_varlen' needs a CUDA device, got {device}; use 'sdpa'"
            )
    return name


def packed_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    cu_seqlens: torch.Tensor,
    max_seqlen: int,
    window_radius: Optional[int] = None,
    backend: str = "auto",
) -> torch.Tensor:
    """Self-attention over a packed batch.

    Args:
        q, k, v: ``(N, H, Dh)`` tokens of all samples back to back.
        cu_seqlens: ``(B + 1,)`` int32 sample offsets.
        max_seqlen: longest sample, in tokens.
        window_radius: token radius of a local layer (attend to ``|i - j| <= window_radius``);
            ``None`` for a global layer.
        backend: one of :data:`BACKENDS`.

    Returns:
        ``(N, H, Dh)`` attention output in the dtype of ``q``.
    """
    if window_radius is not None and window_radius < 1:
        raise ValueError(f"window_radius must be >= 1 token, got {window_radius}")
    backend = resolve_backend(backend, q.device)
    if backend == "sdpa":
        if window_radius is None:
            return _sdpa_global(q, k, v, cu_seqlens)
        return _sdpa_local(q, k, v, cu_seqlens, window_radius)
    window_size = (window_radius, window_radius) if window_radius is not None else (-1, -1)
    dtype = q.dtype
    if dtype not in (torch.float16, torch.bfloat16):
        q, k, v = (t.to(torch.bfloat16) for t in (q, k, v))
    cu_seqlens = cu_seqlens.to(torch.int32)
    if backend == "flash_attn":
        out = _flash_attn_varlen_func()(
            q, k, v, cu_seqlens, cu_seqlens, max_seqlen, max_seqlen,
            dropout_p=0.0, causal=False, window_size=window_size,
        )
    else:
        out = _torch_varlen_attn()(
            q, k, v, cu_seqlens, cu_seqlens, max_seqlen, max_seqlen, window_size=window_size
        )
    return out.to(dtype)


@torch.compiler.disable
def _sdpa_global(q, k, v, cu_seqlens) -> torch.Tensor:
    """Full attention inside each sample: one SDPA call per sample.

    Inputs are given to SDPA as 4-D ``(1, H, L, Dh)``: PyTorch's fused CPU kernel only takes
    4-D tensors (3-D ones fall back to the slow unfused path). Never traced by torch.compile:
    the per-sample split depends on the values of ``cu_seqlens``, so a traced loop would be
    specialised to (and recompiled for) every pack.
    """
    lengths = cu_seqlens.diff().tolist()
    outs = [
        F.scaled_dot_product_attention(
            qi.transpose(0, 1)[None], ki.transpose(0, 1)[None], vi.transpose(0, 1)[None]
        )[0]
        for qi, ki, vi in zip(q.split(lengths), k.split(lengths), v.split(lengths))
    ]
    return torch.cat(outs, dim=1).transpose(0, 1)


def _sdpa_local(q, k, v, cu_seqlens, radius: int) -> torch.Tensor:
    """Sliding-window attention over the whole pack in blocks.

    The pack is cut into blocks of ``radius`` queries; block ``b`` can only reach keys in
    ``[b*radius - radius, (b+1)*radius + radius)``, i.e. three blocks, which are gathered and
    masked with the exact rule (same sample and ``|i - j| <= radius``).
    """
    n, heads, head_dim = q.shape
    num_blocks = -(-n // radius)  # ceil, in integers (traceable with a symbolic n)
    tail = num_blocks * radius - n
    device = q.device

    # output_size: the segments' total is n, known without reading cu_seqlens (traceable)
    segment = torch.repeat_interleave(
        torch.arange(cu_seqlens.numel() - 1, device=device), cu_seqlens.diff().long(),
        output_size=n,
    )
    # Query side: pad at the end to whole blocks; padded queries get segment -1.
    q_blocks = F.pad(q, (0, 0, 0, 0, 0, tail)).view(num_blocks, radius, heads, head_dim)
    q_pos = torch.arange(num_blocks * radius, device=device).view(num_blocks, radius)
    q_seg = F.pad(segment, (0, tail), value=-1)[q_pos]

    # Key side: one block of padding in front and one (plus the tail) behind.
    key_index = (torch.arange(num_blocks, device=device) * radius)[:, None] + torch.arange(
        3 * radius, device=device
    )  # (num_blocks, 3 * radius) indices into the padded keys
    k_pos = key_index - radius
    k_seg = F.pad(segment, (radius, radius + tail), value=-2)[key_index]
    k_blocks = F.pad(k, (0, 0, 0, 0, radius, radius + tail))[key_index]
    v_blocks = F.pad(v, (0, 0, 0, 0, radius, radius + tail))[key_index]

    distance = (q_pos[:, :, None] - k_pos[:, None, :]).abs()
    allowed = (distance <= radius) & (q_seg[:, :, None] == k_seg[:, None, :])
    # A padded query has no real key; let it see itself so its (discarded) row is finite.
    allowed |= distance == 0

    out = F.scaled_dot_product_attention(
        q_blocks.transpose(1, 2),
        k_blocks.transpose(1, 2),
        v_blocks.transpose(1, 2),
        attn_mask=allowed[:, None],
    )  # (num_blocks, H, radius, Dh)
    return out.transpose(1, 2).reshape(num_blocks * radius, heads, head_dim)[:n]
