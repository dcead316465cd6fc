"""Export-friendly towers of a trained SLAP model: one clip's waveform, or a batch of token
ids, to L2-normalised joint-space embeddings.

They compute the function of the training and inference path with operations an ONNX graph
holds for any length (docs/design.md, "ONNX export"):

* the STFT of ESPnet's ``Stft`` (reflect-padded ``center`` framing, the Hann window of
  ``win_length`` centred in ``n_fft``) as a strided convolution with the windowed DFT basis;
* ``LogMel``'s mel matrix, floor and log; ``GlobalMVN`` or ``UtteranceMVN``;
* patchify and the patch embedding as one strided convolution (time-major tokens, the last
  time step zero-filled), 2D RoPE, the encoder blocks and MAP;
* attention over the clip as one sequence: global layers plain attention, local layers the
  band ``|i - j| <= window_radius`` as a mask (:class:`SingleClipLayout`), the same rule the
  packed backends apply.
"""

import contextlib
import types
from typing import Iterator, Optional

import torch
import torch.nn.functional as F
from espnet2.layers.global_mvn import GlobalMVN
from espnet2.layers.utterance_mvn import UtteranceMVN


class SingleClipLayout:
    """The tokens of one clip as a single sequence (``TransformerBlock``'s layout)."""

    def attend(self, q, k, v, window_radius: Optional[int], backend: str) -> torch.Tensor:
        """``(N, H, Dh)`` queries, keys, values -> ``(N, H, Dh)``."""
        mask = None
        if window_radius is not None:
            index = torch.ones_like(q[:, 0, 0], dtype=torch.long).cumsum(0)  # 1 .. N
            mask = (index[:, None] - index[None, :]).abs() <= window_radius
        q, k, v = (t.transpose(0, 1)[None] for t in (q, k, v))  # (1, H, N, Dh)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return out[0].transpose(0, 1)


def _explicit_rms_norm(self, x: torch.Tensor) -> torch.Tensor:
    """``torch.nn.RMSNorm.forward`` written out (ONNX opsets before 23 lack RMSNorm)."""
    eps = self.eps if self.eps is not None else torch.finfo(x.dtype).eps
    dims = tuple(range(-len(self.normalized_shape), 0))
    y = x * torch.rsqrt(x.pow(2).mean(dim=dims, keepdim=True) + eps)
    return y * self.weight if self.weight is not None else y


@contextlib.contextmanager
def explicit_rms_norms(module: torch.nn.Module) -> Iterator[None]:
    """Inside the block, every ``torch.nn.RMSNorm`` of ``module`` runs the written-out form."""
    norms = [m for m in module.modules() if isinstance(m, torch.nn.RMSNorm)]
    for norm in norms:
        norm.forward = types.MethodType(_explicit_rms_norm, norm)
    try:
        yield
    finally:
        for norm in norms:
            del norm.forward


class LogMelFrontend(torch.nn.Module):
    """``(1, T)`` waveform -> ``(frames, n_mels)`` log-mels of ESPnet's ``DefaultFrontend``."""

    def __init__(self, frontend: torch.nn.Module):
        super().__init__()
        stft, logmel = frontend.stft, frontend.logmel
        if stft is None or not stft.center or stft.normalized or not stft.onesided:
            raise ValueError("ONNX export supports DefaultFrontend's STFT with center=True, "
                             "normalized=False, onesided=True")
        if stft.window not in ("hann", None) or logmel.log_base is not None:
            raise ValueError("ONNX export supports a Hann (or no) window and natural-log mels")
        if getattr(frontend, "frontend", None) is not None and (
            frontend.frontend.use_wpe or frontend.frontend.use_beamformer
        ):
            raise ValueError("ONNX export does not support WPE or beamforming frontends")
        n_fft, win = stft.n_fft, stft.win_length or stft.n_fft
        window = torch.zeros(n_fft, dtype=torch.float64)
        left = (n_fft - win) // 2
        window[left : left + win] = (
            torch.hann_window(win, dtype=torch.float64) if stft.window == "hann" else 1.0
        )
        n = torch.arange(n_fft, dtype=torch.float64)
        k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
        angle = 2 * torch.pi * k * n / n_fft
        basis = torch.cat([torch.cos(angle), -torch.sin(angle)]) * window  # (2K, n_fft)
        self.register_buffer("basis", basis.float()[:, None, :], persistent=False)
        self.register_buffer("melmat", logmel.melmat.detach().clone(), persistent=False)
        self.n_fft, self.hop = n_fft, stft.hop_length

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        half = self.n_fft // 2
        padded = F.pad(wave[:, None, :], (half, half), mode="reflect")  # (1, 1, T + n_fft)
        spec = F.conv1d(padded, self.basis, stride=self.hop)[0]  # (2K, frames)
        real, imag = spec.chunk(2, dim=0)
        power = (real**2 + imag**2).transpose(0, 1)  # (frames, K)
        return torch.clamp(power @ self.melmat, min=1e-10).log()


def _normalize(normalize: Optional[torch.nn.Module], feats: torch.Tensor) -> torch.Tensor:
    """``(frames, F)`` features of one clip through the model's normalisation."""
    if normalize is None:
        return feats
    if isinstance(normalize, GlobalMVN):
        if normalize.norm_means:
            feats = feats - normalize.mean.to(feats.dtype)
        if normalize.norm_vars:
            feats = feats / normalize.std.to(feats.dtype)
        return feats
    if isinstance(normalize, UtteranceMVN):
        if not normalize.norm_means:
            raise ValueError("ONNX export supports UtteranceMVN with norm_means=True")
        feats = feats - feats.mean(dim=0, keepdim=True)
        if normalize.norm_vars:
            std = feats.pow(2).mean(dim=0, keepdim=True).sqrt().clamp(min=normalize.eps)
            feats = feats / std
        return feats
    raise ValueError(f"ONNX export does not support the normalisation {type(normalize).__name__}")


class AudioTower(torch.nn.Module):
    """``(1, T)`` 16 kHz waveform (``T >= n_fft``) -> ``(1, D)`` normalised audio embedding.

    Args:
        model: a trained ``ESPnetSLAPModel`` with the SLAP ViT audio encoder.
    """

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        encoder = model.audio_encoder
        if not hasattr(encoder, "blocks") or not hasattr(encoder, "freq_patches"):
            raise ValueError(f"ONNX export needs the SLAP ViT audio encoder, not "
                             f"{type(encoder).__name__}")
        if model.frontend is None:
            raise ValueError("ONNX export needs a model with a waveform frontend")
        self.frontend = LogMelFrontend(model.frontend)
        self.normalize = model.normalize
        self.encoder = encoder
        self.pooling = model.audio_pooling
        self.patch = encoder.patch_size
        self.freq_patches = encoder.freq_patches

    def tokens(self, wave: torch.Tensor) -> torch.Tensor:
        """``(1, T)`` -> ``(N, W)`` encoder tokens, time-major, as the packed path gives."""
        feats = _normalize(self.normalize, self.frontend(wave))  # (frames, n_mels)
        # Patchify + patch embedding as one strided convolution (a ViT's patch embedding):
        # patch (t, f) holds frames 16t .. 16t + 15 and mel bins 16f .. 16f + 15, flattened
        # time-major as in ``patchify``; 15 zero frames appended give the last, partial step.
        kernel = self.encoder.patch_embed.weight.view(-1, 1, self.patch, self.patch)
        padded = F.pad(feats, (0, 0, 0, self.patch - 1))[None, None]  # (1, 1, frames', n_mels)
        x = F.conv2d(padded, kernel, stride=self.patch)[0]  # (W, S, F)
        x = x.permute(1, 2, 0).flatten(0, 1)  # (S * F, W), time-major
        index = torch.ones_like(x[:, 0], dtype=torch.long).cumsum(0) - 1
        positions = torch.stack([index // self.freq_patches, index % self.freq_patches], -1)
        cos, sin = self.encoder.rope(positions)
        layout = SingleClipLayout()
        for block in self.encoder.blocks:
            x = block(x, cos, sin, layout)
        return self.encoder.final_norm(x)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        tokens = self.tokens(wave)[None]
        valid = torch.ones_like(tokens[..., 0], dtype=torch.bool)
        return F.normalize(self.pooling(tokens, valid), dim=-1)


class TextTower(torch.nn.Module):
    """``(B, L)`` token ids and ``(B, L)`` int64 attention mask (1 on real tokens) ->
    ``(B, D)`` normalised text embeddings."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        if not hasattr(model.text_encoder, "model"):
            raise ValueError("ONNX export needs the Hugging Face text encoder")
        self.encoder = model.text_encoder.model
        self.pooling = model.text_pooling

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return F.normalize(self.pooling(out.last_hidden_state, attention_mask.bool()), dim=-1)
