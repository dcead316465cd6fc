"""ESPnetSLAPModel: the SLAP training objective as an ESPnet2 model.

Figure 1 of the paper, with the loss ``L = a * L_CLAP + b * L_SSL + c * L_CAP``:

    speech -> frontend (log-mel) -> SpecAug (train) -> GlobalMVN -> audio encoder -> tokens
    tokens -> MAP pooling -> audio embedding ----------\
    text   -> text encoder -> MAP pooling -> text emb --+-> L_CLAP
    tokens (before MAP) -> caption decoder ------------------> L_CAP
    masked student pass + EMA teacher pass -----------------> L_SSL

In the paper's (``separate``) mode L_CLAP and L_CAP read the student's unmasked pass and L_SSL
adds a masked student pass; ``shared`` mode feeds all three losses from the masked pass.
"""

from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.specaug.abs_specaug import AbsSpecAug
from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_espnet_model import AbsESPnetModel

from espnet2_slap.audio.abs_audio_encoder import AbsAudioEncoder
from espnet2_slap.audio.features import per_clip_frontend, per_clip_specaug
from espnet2_slap.decoder.abs_caption_decoder import AbsCaptionDecoder
from espnet2_slap.layers.attention_pooling import AttentionPooling
from espnet2_slap.layers.packed_batch import PackedBatch
from espnet2_slap.losses.abs_contrastive_loss import AbsContrastiveLoss
from espnet2_slap.losses.logit_scale import ClampedLogitScale
from espnet2_slap.ssl.objective import MaskedDistillationObjective
from espnet2_slap.text.abs_text_encoder import AbsTextEncoder
from espnet2_slap.utils.precision import float32_region

SSL_FORWARD_MODES = ("separate", "shared")


class ESPnetSLAPModel(AbsESPnetModel):
    """SLAP: contrastive + masked self-distillation + captioning, in one stage.

    Args:
        frontend: waveform -> features (ESPnet ``DefaultFrontend``: 64 log-mels, 10 ms hop).
        specaug: feature augmentation, applied in training only.
        normalize: feature normalisation (``GlobalMVN`` from collect-stats).
        audio_encoder: features -> packed dense tokens.
        text_encoder: caption token ids -> dense tokens.
        contrastive_loss: the alignment loss (InfoNCE or sigmoid); owns the temperature.
        ssl_objective: masked self-distillation with an EMA teacher, or None (no L_SSL).
        caption_decoder: the captioning decoder, or None (no L_CAP).
        token_list: the caption token list (kept for decoding captions).
        embed_dim: dimension D of the joint audio-text space.
        pooling_heads: heads of the MAP pooling layers.
        clap_weight, ssl_weight, caption_weight: a, b, c of the total loss (1, 1, 0.5).
        ssl_forward: ``separate`` (paper) or ``shared`` (one masked pass feeds every loss).
    """

    def __init__(
        self,
        frontend: Optional[AbsFrontend],
        specaug: Optional[AbsSpecAug],
        normalize: Optional[AbsNormalize],
        audio_encoder: AbsAudioEncoder,
        text_encoder: AbsTextEncoder,
        contrastive_loss: AbsContrastiveLoss,
        ssl_objective: Optional[MaskedDistillationObjective] = None,
        caption_decoder: Optional[AbsCaptionDecoder] = None,
        token_list: Optional[List[str]] = None,
        embed_dim: int = 512,
        pooling_heads: int = 8,
        clap_weight: float = 1.0,
        ssl_weight: float = 1.0,
        caption_weight: float = 0.5,
        ssl_forward: str = "separate",
    ):
        super().__init__()
        if ssl_forward not in SSL_FORWARD_MODES:
            raise ValueError(f"ssl_forward must be one of {SSL_FORWARD_MODES}, got {ssl_forward!r}")
        if ssl_objective is not None and not audio_encoder.supports_token_mask:
            raise ValueError(
                f"{type(audio_encoder).__name__} cannot mask tokens, so it cannot train the SSL "
                "objective: set ssl: null"
            )
        self.frontend = frontend
        self.specaug = specaug
        self.normalize = normalize
        self.audio_encoder = audio_encoder
        self.text_encoder = text_encoder
        self.audio_pooling = AttentionPooling(audio_encoder.output_size(), embed_dim, pooling_heads)
        self.text_pooling = AttentionPooling(text_encoder.output_size(), embed_dim, pooling_heads)
        self.contrastive_loss = contrastive_loss
        self.ssl_objective = ssl_objective
        self.caption_decoder = caption_decoder
        self.token_list = list(token_list) if token_list is not None else None
        self.clap_weight = clap_weight
        self.ssl_weight = ssl_weight
        self.caption_weight = caption_weight
        self.ssl_forward = ssl_forward
        self._freeze_unused_parameters()

    def _freeze_unused_parameters(self) -> None:
        """Parameters this configuration never uses get ``requires_grad=False``.

        DDP (ESPnet's default ``find_unused_parameters=False``) fails on a trainable
        parameter that receives no gradient. Without the SSL objective nothing masks tokens,
        so the audio encoder's mask token is unused. (Text encoders freeze their own unused
        parts, e.g. the Hugging Face pooler.)
        """
        mask_token = getattr(self.audio_encoder, "mask_token", None)
        if self.ssl_objective is None and isinstance(mask_token, torch.nn.Parameter):
            mask_token.requires_grad_(False)

    def train(self, mode: bool = True) -> "ESPnetSLAPModel":
        """Set train/eval mode; a frozen module (no parameter requires grad) stays in eval.

        ``--freeze_param text_encoder.model`` thus also turns off the text encoder's dropout,
        so its features in training equal those at evaluation.
        """
        super().train(mode)
        if mode:
            _frozen_modules_to_eval(self)
        return self

    # ------------------------------------------------------------------ features
    @property
    def embed_dim(self) -> int:
        """D, the size of the joint audio-text embedding."""
        return self.audio_pooling.proj.out_features

    def logit_scale(self) -> torch.Tensor:
        """``1 / temperature`` of the contrastive loss (a scalar tensor)."""
        return self.contrastive_loss.logit_scale()

    def num_audio_tokens(self, feats_lengths: torch.Tensor) -> torch.Tensor:
        """``(B,)`` tokens the audio encoder runs on clips of ``feats_lengths`` frames."""
        return self.audio_encoder.num_tokens(feats_lengths)

    def extract_feats(
        self, speech: torch.Tensor, speech_lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(B, T_wav)`` waveforms -> ``(B, T, F)`` normalised features and ``(B,)`` lengths.

        The frontend and SpecAugment run clip by clip (``audio.features``), so a clip gets the
        same features in any batch and at inference, and its masks scale with its own length.
        """
        with float32_region(speech):  # log-mels in float32 also under bf16 autocast
            feats, feats_lengths = self._frontend(speech, speech_lengths)
            if self.specaug is not None and self.training:
                feats, feats_lengths = per_clip_specaug(self.specaug, feats, feats_lengths)
            if self.normalize is not None:
                feats, feats_lengths = self.normalize(feats, feats_lengths)
        return feats, feats_lengths

    def _frontend(self, speech, speech_lengths):
        """Log-mels of ``(B, T_wav)`` waveforms; ``(B, T, F)`` dumped features pass through."""
        if self.frontend is None or speech.dim() == 3:
            return speech[:, : speech_lengths.max()], speech_lengths
        return per_clip_frontend(self.frontend, speech, speech_lengths)

    # ------------------------------------------------------------------ embeddings
    def pool_audio(self, tokens: PackedBatch) -> torch.Tensor:
        """Packed audio tokens -> ``(B, D)`` L2-normalised audio embeddings."""
        padded, valid = tokens.to_padded()
        return F.normalize(self.audio_pooling(padded, valid), dim=-1)

    def embed_audio(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> torch.Tensor:
        """``(B, T_wav)`` waveforms -> ``(B, D)`` L2-normalised audio embeddings."""
        feats, feats_lengths = self.extract_feats(speech, speech_lengths)
        return self.pool_audio(self.audio_encoder(feats, feats_lengths))

    def embed_text(self, text_encoder_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` ids of the text encoder's tokenizer -> ``(B, D)`` normalised embeddings."""
        tokens, valid = self.text_encoder(text_encoder_ids, lengths)
        return F.normalize(self.text_pooling(tokens, valid), dim=-1)

    # ------------------------------------------------------------------ training
    def forward(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        caption: Optional[torch.Tensor] = None,
        caption_lengths: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Total loss of a batch (Figure 1).

        Args:
            speech: ``(B, T_wav)`` 16 kHz waveforms; ``speech_lengths`` ``(B,)``.
            text: ``(B, L)`` the captions as ids of the *text encoder*'s tokenizer, read by
                L_CLAP; ``text_lengths`` ``(B,)``. (Data names ``text`` / ``caption`` are
                ESPnet's batch keys, as recipes write them; ``captions``, a JSON list per
                clip, is the preprocessor's input from which one caption is drawn.)
            caption: ``(B, L')`` the same captions as ids of the *caption decoder*'s token
                list, read by L_CAP (needed when the model has a caption decoder);
                ``caption_lengths`` ``(B,)``.

        Returns:
            loss, stats (every loss term, temperature, in-batch accuracies), weight (B).
        """
        # 1. Features: (B, T_wav) -> (B, T, F)
        feats, feats_lengths = self.extract_feats(speech, speech_lengths)

        # 2. Student encoder -> MAP -> L_CLAP. With L_SSL the student also encodes the
        #    masked input (read in step 4); that pass runs first, as ``shared`` mode feeds
        #    every loss from it.
        masked = None
        if self.ssl_objective is not None:
            masked = self.ssl_objective.masked_student_pass(
                self.audio_encoder, feats, feats_lengths
            )
        shared = self.ssl_forward == "shared" and masked is not None
        audio_tokens = masked.tokens if shared else self.audio_encoder(feats, feats_lengths)
        audio_emb = self.pool_audio(audio_tokens)  # (B, D)
        text_emb = self.embed_text(text, text_lengths)  # (B, D)
        loss_clap, clap_stats = self.contrastive_loss(audio_emb, text_emb)

        # 3. Dense audio tokens -> caption decoder -> L_CAP
        loss_cap, cap_stats = None, {}
        if self.caption_decoder is not None:
            loss_cap, cap_stats = self._caption_loss(audio_tokens, caption, caption_lengths)

        # 4. Masked student + EMA teacher -> L_SSL
        loss_ssl, ssl_stats = None, {}
        if self.ssl_objective is not None:
            loss_ssl, ssl_stats = self.ssl_objective(
                self.audio_encoder, feats, feats_lengths, masked
            )

        # 5. L = a * L_CLAP + b * L_SSL + c * L_CAP (summed in a fixed order: ssl, clap, cap)
        loss, stats = 0.0, {}
        for name, weight, term, term_stats in (
            ("loss_ssl", self.ssl_weight, loss_ssl, ssl_stats),
            ("loss_clap", self.clap_weight, loss_clap, clap_stats),
            ("loss_cap", self.caption_weight, loss_cap, cap_stats),
        ):
            if term is not None:
                loss = loss + weight * term
                stats.update(term_stats, **{name: term.detach()})
        stats["loss"] = loss.detach()
        batch_size = speech.size(0)
        loss, stats, weight = force_gatherable((loss, stats, batch_size), loss.device)
        return loss, stats, weight

    def _caption_loss(
        self,
        audio_tokens: PackedBatch,
        decoder_ids: Optional[torch.Tensor],
        decoder_lengths: Optional[torch.Tensor],
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """L_CAP of captions as ``(B, L')`` decoder token ids given the packed audio tokens."""
        if decoder_ids is None or decoder_lengths is None:
            raise ValueError(
                "the model has a caption decoder but the batch has no 'caption': "
                "give the task a --token_list so captions are tokenized for it"
            )
        memory, memory_valid = audio_tokens.to_padded()  # (B, T_max, D), (B, T_max)
        return self.caption_decoder(memory, memory_valid, decoder_ids, decoder_lengths)

    def collect_feats(
        self, speech: torch.Tensor, speech_lengths: torch.Tensor, **kwargs
    ) -> Dict[str, torch.Tensor]:
        """Frontend features for ESPnet's collect-stats (GlobalMVN statistics)."""
        feats, feats_lengths = self._frontend(speech, speech_lengths)
        return {"feats": feats, "feats_lengths": feats_lengths}

    # ------------------------------------------------------------------ optimizer steps
    def after_optimizer_step(self) -> None:
        """Clamp every learnable temperature to its bound, after every real optimizer step.

        On the parameter, as CLIP does, so its gradient never vanishes past the bound (the
        task hooks it to the optimizer). The EMA teacher has its own hook
        (:func:`espnet2_slap.ssl.ema_teacher.attach_ema_teachers`).
        """
        for module in self.modules():
            if isinstance(module, ClampedLogitScale):
                module.clamp_()


def _frozen_modules_to_eval(module: torch.nn.Module) -> None:
    """Put in eval mode every top-most submodule whose parameters are all frozen."""
    for child in module.children():
        params = list(child.parameters())
        if params and not any(p.requires_grad for p in params):
            child.train(False)
        else:
            _frozen_modules_to_eval(child)
