"""The SLAP audio encoder: a ViT on 16x16 log-mel patches for variable-length clips.

Patches in time-major order -> linear patch embedding -> pre-norm Transformer blocks with
2D RoPE, RMSNorm, SwiGLU and no biases, alternating sliding-window (local) and global
attention -> final RMSNorm. Every non-padded patch of the batch is run as one sequence
with varlen attention (the padded baseline is ``audio/padded_baseline.py``).

``compile=True`` runs each Transformer block through ``torch.compile`` with dynamic shapes:
one compiled graph per layer kind (local, global) serves every block of that kind and every
packed length, so a new pack does not recompile (``tools/bench/bench_encoder_step.py
--compile`` prints the count over random packs). Patchify, RoPE tables and the final norm stay
eager: they hold the data-dependent steps (the packing itself).
"""

from typing import Callable, Mapping, Optional, Sequence

import torch
import torch.utils.checkpoint

from espnet2_slap.audio.abs_audio_encoder import AbsAudioEncoder
from espnet2_slap.audio.patchify import num_patch_tokens, patchify
from espnet2_slap.layers.attention_backends import resolve_backend
from espnet2_slap.layers.packed_batch import PackedBatch
from espnet2_slap.layers.rope2d import RotaryEmbedding2D
from espnet2_slap.layers.transformer_block import PackedLayout, TransformerBlock

ATTENTION_KINDS = ("local", "global")
PATCH_SIZE = 16  # the paper's 16x16 patches


def _block_call(block, x, cos, sin, layout) -> torch.Tensor:
    return block(x, cos, sin, layout)


def _local_block_call(block, x, cos, sin, layout) -> torch.Tensor:
    return block(x, cos, sin, layout)


def _global_block_call(block, x, cos, sin, layout) -> torch.Tensor:
    return block(x, cos, sin, layout)


_COMPILED = {}


def compiled_block_call(kind: str):
    """The call of a block of ``kind`` (local or global), compiled once per process
    (``torch.compile(dynamic=True)``).

    A function of the block, not a compiled copy of each module: the state dict, ``deepcopy``
    (the EMA teacher) and pickling see plain modules, and the blocks of one kind share their
    graphs (the parameters are inputs). One function (code object, so one compile cache) per
    kind: a graph break inside a global layer (``sdpa``) leaves guards that do not look at
    the layer kind, and in a shared cache local blocks would then take the global entry.
    """
    if kind not in _COMPILED:
        function = {"local": _local_block_call, "global": _global_block_call}[kind]
        _COMPILED[kind] = torch.compile(function, dynamic=True)
    return _COMPILED[kind]


class SLAPAudioEncoder(AbsAudioEncoder):
    """ViT audio encoder of the SLAP paper.

    Args:
        input_size: mel bins of the input features (64 in the paper).
        patch_size: patch side in frames and mel bins (16).
        output_size: model width (768).
        num_layers: Transformer blocks (12).
        num_heads: attention heads (12).
        mlp_hidden_size: SwiGLU inner width (3072).
        attention_pattern: layer kinds, cycled over the depth; the paper's
            ``[local, local, global]`` gives 2 sliding-window layers per global one.
        window_time_steps: width of the sliding window in patch time steps (24): a token
            sees tokens within ``window_time_steps // 2`` time steps either side, i.e. a token
            radius of ``(window_time_steps // 2) * (input_size // patch_size)``.
        attention_backend: ``auto``, ``sdpa``, ``torch_varlen`` or ``flash_attn``.
        rope_base: RoPE wavelength base.
        norm_eps: RMSNorm epsilon.
        activation_checkpointing: in training, keep only each block's input and recompute
            its activations in the backward pass (less memory for long clips, about one
            more forward pass of compute; same gradients).
        compile: run each block through ``torch.compile`` (dynamic shapes; see the module
            docstring); same outputs and gradients within float tolerance. The first steps
            pay the compilation (tens of seconds), later packs of any length reuse it.
    """

    def __init__(
        self,
        input_size: int = 64,
        patch_size: int = PATCH_SIZE,
        output_size: int = 768,
        num_layers: int = 12,
        num_heads: int = 12,
        mlp_hidden_size: int = 3072,
        attention_pattern: Sequence[str] = ("local", "local", "global"),
        window_time_steps: int = 24,
        attention_backend: str = "auto",
        rope_base: float = 10000.0,
        norm_eps: float = 1e-6,
        activation_checkpointing: bool = False,
        compile: bool = False,
    ):
        super().__init__()
        unknown = [kind for kind in attention_pattern if kind not in ATTENTION_KINDS]
        if unknown or not attention_pattern:
            raise ValueError(
                f"attention_pattern must be a non-empty list of {ATTENTION_KINDS}, "
                f"got {list(attention_pattern)}"
            )
        if input_size % patch_size != 0:
            raise ValueError(f"input_size={input_size} is not divisible by patch_size={patch_size}")
        if window_time_steps < 2:
            raise ValueError(f"window_time_steps must be >= 2, got {window_time_steps}")
        self.patch_size = patch_size
        self.freq_patches = input_size // patch_size
        self.activation_checkpointing = activation_checkpointing
        self.compile_blocks = compile  # not ``self.compile``: that is nn.Module.compile
        self.attention_backend = attention_backend
        self.window_radius = (window_time_steps // 2) * self.freq_patches  # in tokens
        self.layer_kinds = [attention_pattern[i % len(attention_pattern)] for i in range(num_layers)]
        self._output_size = output_size

        self.patch_embed = torch.nn.Linear(patch_size * patch_size, output_size, bias=False)
        self.mask_token = torch.nn.Parameter(torch.zeros(output_size))
        self.rope = RotaryEmbedding2D(output_size // num_heads, base=rope_base)
        self.blocks = torch.nn.ModuleList(
            TransformerBlock(
                output_size,
                num_heads,
                mlp_hidden_size,
                window_radius=self.window_radius if kind == "local" else None,
                backend=attention_backend,
                norm_eps=norm_eps,
            )
            for kind in self.layer_kinds
        )
        self.final_norm = torch.nn.RMSNorm(output_size, eps=norm_eps)
        self.reset_parameters()

    def reset_parameters(self):
        """ViT-style init: truncated normal (std 0.02) for every linear and the mask token."""
        for module in self.modules():
            if isinstance(module, torch.nn.Linear):
                torch.nn.init.trunc_normal_(module.weight, std=0.02)
        torch.nn.init.trunc_normal_(self.mask_token, std=0.02)

    def output_size(self) -> int:
        return self._output_size

    def num_tokens(self, feats_lengths: torch.Tensor) -> torch.Tensor:
        return num_patch_tokens(feats_lengths, self.patch_size, self.freq_patches)

    @classmethod
    def token_cost_fn(cls, input_size: int, conf: Mapping) -> Callable[[int], int]:
        patch_size = conf.get("patch_size", PATCH_SIZE)
        freq_patches = input_size // patch_size
        return lambda frames: num_patch_tokens(frames, patch_size, freq_patches)

    @property
    def supports_token_mask(self) -> bool:
        return True

    def forward(
        self,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        token_mask: Optional[torch.Tensor] = None,
    ) -> PackedBatch:
        patches, positions = patchify(feats, feats_lengths, self.patch_size)
        x = self.patch_embed(patches.values)  # (N, D)
        if token_mask is not None:
            if token_mask.shape != x.shape[:1]:
                raise ValueError(
                    f"token_mask has shape {tuple(token_mask.shape)}, expected ({x.size(0)},)"
                )
            x = torch.where(token_mask[:, None], self.mask_token.to(x.dtype), x)
        cos, sin = self.rope(positions)  # (N, 1, Dh)

        x = self._run_blocks(x, cos, sin, patches)  # (N, D)
        return patches.with_values(self.final_norm(x))

    def _run_blocks(self, x, cos, sin, patches: PackedBatch) -> torch.Tensor:
        """``(N, D)`` packed tokens through every block, as one varlen sequence."""
        layout = PackedLayout(patches.cu_seqlens, patches.max_len)
        if self.compile_blocks:
            # Eagerly, before any compiled call: raises for a backend the device cannot run
            # and looks the kernels up once, so the traced calls see constants.
            resolve_backend(self.attention_backend, x.device)
        for block in self.blocks:
            x = self._run_block(block, x, cos, sin, layout)
        return x

    def _run_block(self, block: TransformerBlock, x, cos, sin, layout) -> torch.Tensor:
        """``block(x, ...)`` (compiled with ``compile``), recomputed in the backward pass with
        activation checkpointing."""
        if self.compile_blocks:
            run = compiled_block_call("global" if block.attn.window_radius is None else "local")
        else:
            run = _block_call
        if self.activation_checkpointing and self.training and torch.is_grad_enabled():
            return torch.utils.checkpoint.checkpoint(
                run, block, x, cos, sin, layout, use_reentrant=False
            )
        return run(block, x, cos, sin, layout)
