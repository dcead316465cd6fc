"""Conversion and checking of the array arguments that the metric functions take.

Metrics accept numpy arrays, torch tensors or nested sequences. These helpers turn them
into numpy arrays of a fixed dtype and raise a ``ValueError`` that names the offending
argument when the shape, dtype or values are wrong.
"""

from typing import Any

import numpy as np
import torch


def _as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        if tensor.is_floating_point():
            tensor = tensor.to(torch.float64)  # bfloat16 has no numpy dtype
        return tensor.numpy()
    return np.asarray(value)


def finite_float_matrix(value: Any, name: str) -> np.ndarray:
    """``value`` as a non-empty, finite ``(rows, cols)`` float64 array."""
    array = _as_numpy(value)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{name} must hold numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    non_finite = ~np.isfinite(array)
    if non_finite.any():
        row, col = np.argwhere(non_finite)[0]
        raise ValueError(
            f"{name} holds {int(non_finite.sum())} NaN/inf value(s), first at "
            f"[{row}, {col}] = {array[row, col]}"
        )
    return array


def index_vector(value: Any, name: str, length: int, n_values: int) -> np.ndarray:
    """``value`` as a ``(length,)`` int64 array with every entry in ``[0, n_values)``."""
    array = _as_numpy(value)
    if array.ndim != 1 or array.shape[0] != length:
        raise ValueError(f"{name} must have shape ({length},), got {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer indices, got dtype {array.dtype}")
    out_of_range = (array < 0) | (array >= n_values)
    if out_of_range.any():
        position = int(np.flatnonzero(out_of_range)[0])
        raise ValueError(
            f"{name}[{position}] = {int(array[position])} is outside [0, {n_values})"
        )
    return array.astype(np.int64)
