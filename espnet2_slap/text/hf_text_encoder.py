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
        cache_frozen_outputs: when the whole model is frozen and in eval mode (a frozen
            module runs in eval mode), remember each caption's output features and reuse
            them instead of running the model again; they equal a fresh pass up to float
            rounding. Memory: captions x tokens x width x 4 bytes (the demo: ~0.1 GB).
    """

    def __init__(
        self,
        model_name_or_path: Optional[str] = None,
        pretrained: bool = True,
        model_type: Optional[str] = None,
        config_overrides: Optional[Dict[str, Any]] = None,
        tokenizer_name_or_path: Optional[str] = None,
        max_length: int = 128,
        cache_frozen_outputs: bool = False,
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
        self.cache_frozen_outputs = cache_frozen_outputs
        self._cache: Dict[Tuple[int, ...], torch.Tensor] = {}  # caption ids -> (L, H)
        self._register_load_state_dict_pre_hook(lambda *args, **kwargs: self._cache.clear())

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
        if self._use_cache():
            return self._cached_forward(ids, token_lengths), valid
        out = self.model(input_ids=ids, attention_mask=valid.long())
        return out.last_hidden_state, valid

    def _use_cache(self) -> bool:
        frozen = not any(p.requires_grad for p in self.model.parameters())
        return self.cache_frozen_outputs and frozen and not self.model.training

    def _cached_forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` ids -> ``(B, L, H)`` features, running the model on new captions only."""
        keys = [tuple(row[:n].tolist()) for row, n in zip(ids, lengths.tolist())]
        new = [i for i, key in enumerate(keys) if key not in self._cache]
        if new:
            rows = ids[new, : int(lengths[new].max())]
            valid = valid_mask(lengths[new], rows.size(1))
            with torch.no_grad():
                hidden = self.model(input_ids=rows, attention_mask=valid.long()).last_hidden_state
            for row, i in enumerate(new):
                self._cache[keys[i]] = hidden[row, : len(keys[i])].detach()
        out = ids.new_zeros(ids.shape + (self._output_size,), dtype=self._cache[keys[0]].dtype)
        for i, key in enumerate(keys):
            out[i, : len(key)] = self._cache[key]
        return out
