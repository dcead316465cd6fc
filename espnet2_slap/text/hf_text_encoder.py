"""Any Hugging Face encoder (BERT, ModernBERT, MiniLM, ...) as the SLAP text encoder."""

from typing import Any, Dict, List, Optional, Tuple

import torch
from transformers import AutoConfig, AutoModel, AutoTokenizer

from espnet2_slap.layers.packed_batch import valid_mask
from espnet2_slap.text.abs_text_encoder import AbsTextEncoder, TextTokenizer
from espnet2_slap.utils.pretrained_path import resolve_pretrained_path


class HuggingFaceTokenizer:
    """Caption -> token ids with the encoder's own tokenizer (special tokens included)."""

    def __init__(self, name_or_path: str, max_length: int):
        self.tokenizer = AutoTokenizer.from_pretrained(resolve_pretrained_path(name_or_path))
        self.max_length = max_length

    def __call__(self, text: str) -> List[int]:
        return self.tokenizer(text, truncation=True, max_length=self.max_length)["input_ids"]


class HuggingFaceTextEncoder(AbsTextEncoder):
    """Wraps ``transformers.AutoModel``.

    Args:
        model_name_or_path: hub id (``answerdotai/ModernBERT-base``), local folder, or
            ``pkg:<package>/<subdir>`` for weights shipped in a Python package.
        pretrained: load the weights (``from_pretrained``); False builds the architecture from
            its config with random weights (tests, or a model whose weights come from a
            SLAP checkpoint anyway).
        model_type: build from ``AutoConfig.for_model(model_type)`` instead of reading a
            config from ``model_name_or_path`` (only with ``pretrained: false``).
        config_overrides: config fields to change, e.g. ``{num_hidden_layers: 2}``.
        tokenizer_name_or_path: tokenizer location; defaults to ``model_name_or_path``.
        max_length: captions are truncated to this many tokens.
    """

    def __init__(
        self,
        model_name_or_path: Optional[str] = None,
        pretrained: bool = True,
        model_type: Optional[str] = None,
        config_overrides: Optional[Dict[str, Any]] = None,
        tokenizer_name_or_path: Optional[str] = None,
        max_length: int = 128,
    ):
        super().__init__()
        overrides = dict(config_overrides or {})
        if model_type is not None:
            if pretrained:
                raise ValueError("model_type builds a random model: set pretrained: false")
            config = AutoConfig.for_model(model_type, **overrides)
        elif model_name_or_path is None:
            raise ValueError("text encoder needs model_name_or_path (or model_type)")
        else:
            path = resolve_pretrained_path(model_name_or_path)
            config = AutoConfig.from_pretrained(path, **overrides)
        if pretrained:
            self.model = AutoModel.from_pretrained(path, config=config)
        else:
            self.model = AutoModel.from_config(config)
        self._output_size = config.hidden_size
        self._freeze_pooler()

    def _freeze_pooler(self) -> None:
        """The pooler (BERT's ``[CLS]`` dense layer) is computed but never used (MAP pools the
        tokens): its parameters are frozen so that DDP finds no trainable parameter without
        a gradient. Its weights stay in the state dict."""
        pooler = getattr(self.model, "pooler", None)
        if isinstance(pooler, torch.nn.Module):
            pooler.requires_grad_(False)

    @classmethod
    def build_tokenizer(cls, **conf) -> TextTokenizer:
        name = conf.get("tokenizer_name_or_path") or conf.get("model_name_or_path")
        if name is None:
            raise ValueError("text_encoder_conf needs tokenizer_name_or_path or model_name_or_path")
        return HuggingFaceTokenizer(name, conf.get("max_length", 128))

    def output_size(self) -> int:
        return self._output_size

    def forward(
        self, token_ids: torch.Tensor, token_lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        valid = valid_mask(token_lengths, token_ids.size(1))  # (B, L), True on real tokens
        ids = token_ids.masked_fill(~valid, 0)
        out = self.model(input_ids=ids, attention_mask=valid.long())
        return out.last_hidden_state, valid
