"""Inference with trained SLAP models: :class:`SLAPInference` and its helpers."""

from espnet2_slap.inference.slap_inference import SLAPInference

__all__ = ["SLAPInference"]
