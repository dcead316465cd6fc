"""Initialise a classification model from a trained SLAP model.

A SLAP model is named by its experiment directory (``config.yaml`` + a ``.pth``), a ``.pth``
file inside one, a packed ``.zip`` from ``slap_pack`` or a model-zoo tag (both loaded as
:class:`~espnet2_slap.inference.slap_inference.SLAPInference` loads them). From it come:

- the architecture of the audio encoder and its MAP pooling (``encoder_conf`` of
  :class:`~espnet2_slap.cls.encoder.SLAPClsEncoder`), written into the training config so
  the classifier's ``config.yaml`` rebuilds without the SLAP model;
- optionally the frontend and feature normalisation (the statistics travel with the model);
- the weights: the student encoder (``audio_encoder.*``) or the EMA teacher's
  (``ssl_objective.teacher.module.encoder.*``), and the MAP pooling (``audio_pooling.*``).
"""

import copy
import logging
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import torch
import yaml


WEIGHT_SOURCES = ("student", "teacher", "none")
ENCODER_PREFIX = {"student": "audio_encoder.", "teacher": "ssl_objective.teacher.module.encoder."}
POOLING_PREFIX = "audio_pooling."


def encoder_conf_from_slap(slap_config: Dict, user_conf: Optional[Dict] = None) -> Dict:
    """``SLAPClsEncoder`` options for the SLAP model's encoder; ``user_conf`` wins.

    ``user_conf["encoder_conf"]`` is merged key by key into the SLAP encoder options, so a
    run-time option (``attention_backend``) can be changed without repeating the rest.
    """
    if slap_config.get("audio_encoder", "slap") != "slap":
        raise ValueError(
            f"the SLAP model's audio_encoder is {slap_config['audio_encoder']!r}; only 'slap' "
            "encoders can be used by encoder: slap"
        )
    model_conf = slap_config.get("model_conf") or {}
    conf = dict(
        encoder_conf=dict(slap_config.get("audio_encoder_conf") or {}),
        embed_dim=model_conf.get("embed_dim", 512),
        pooling_heads=model_conf.get("pooling_heads", 8),
    )
    user_conf = copy.deepcopy(user_conf or {})
    conf["encoder_conf"].update(user_conf.pop("encoder_conf", None) or {})
    conf.update(user_conf)
    return conf


def slap_encoder_state(
    slap_state: Dict[str, torch.Tensor], weights: str, with_pooling: bool
) -> Dict[str, torch.Tensor]:
    """The SLAP checkpoint's encoder (+ pooling) tensors, keyed as in ``SLAPClsEncoder``."""
    if weights not in ENCODER_PREFIX:
        raise ValueError(f"--slap_init_weights must be one of {WEIGHT_SOURCES}, got {weights!r}")
    prefix = ENCODER_PREFIX[weights]
    state = {"encoder." + k[len(prefix):]: v for k, v in slap_state.items() if k.startswith(prefix)}
    if not state:
        hint = " (was it trained with the SSL objective?)" if weights == "teacher" else ""
        raise ValueError(f"the SLAP checkpoint has no '{prefix}*' tensors{hint}")
    if with_pooling:
        state.update(
            {"pooling." + k[len(POOLING_PREFIX):]: v for k, v in slap_state.items() if k.startswith(POOLING_PREFIX)}
        )
    return state


def load_slap_weights(
    model: torch.nn.Module, model_file: Union[str, Path], weights: str, encoder_key: str = "encoder"
) -> Tuple[List[str], List[str]]:
    """Copy the SLAP encoder (+ MAP pooling) into ``model.<encoder_key>``; log what happened.

    Returns:
        loaded: names (in ``model``) of the tensors taken from the SLAP model.
        new: names of the model's parameters left as initialised (e.g. the decoder).

    Raises:
        ValueError: a tensor of the SLAP model has no counterpart or another shape.
    """
    encoder = getattr(model, encoder_key)
    slap_state = torch.load(model_file, map_location="cpu", weights_only=True)
    state = slap_encoder_state(slap_state, weights, with_pooling=encoder.pooling is not None)
    own = encoder.state_dict()
    unknown = sorted(set(state) - set(own))
    mismatched = [k for k in state if k in own and own[k].shape != state[k].shape]
    if unknown or mismatched:
        detail = unknown or [f"{k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in mismatched]
        raise ValueError(
            f"{model_file}: the SLAP {weights} encoder does not fit {encoder_key} "
            f"({'no such tensors' if unknown else 'shape mismatch'}: {detail[:5]})"
        )
    encoder.load_state_dict(state, strict=False)
    loaded = sorted(f"{encoder_key}.{k}" for k in state)
    new = sorted(k for k, _ in model.named_parameters() if k not in set(loaded))
    logging.info(
        f"SLAP init: loaded {len(loaded)} tensors ({weights} encoder"
        f"{' + MAP pooling' if encoder.pooling is not None else ''}) from {model_file}"
    )
    logging.info(f"SLAP init: newly initialised parameters ({len(new)}): {', '.join(new)}")
    return loaded, new


def read_yaml(path: Union[str, Path]) -> Dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)
