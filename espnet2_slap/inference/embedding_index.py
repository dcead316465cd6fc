"""A searchable set of named, L2-normalised embeddings (an audio or text index)."""

from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple, Union

import numpy as np


@dataclass
class EmbeddingIndex:
    """Keys with their embeddings; search by cosine similarity.

    Attributes:
        keys: one name per row (an utterance id or file path).
        embeddings: ``(N, D)`` float32, rows L2-normalised.
    """

    keys: List[str]
    embeddings: np.ndarray

    def __post_init__(self):
        self.embeddings = np.asarray(self.embeddings, dtype=np.float32)
        if self.embeddings.ndim != 2 or len(self.keys) != self.embeddings.shape[0]:
            raise ValueError(
                f"index needs one (D,) row per key: {len(self.keys)} keys, "
                f"embeddings of shape {self.embeddings.shape}"
            )

    def __len__(self) -> int:
        return len(self.keys)

    def search(self, queries: np.ndarray, top_k: int = 10) -> List[List[Tuple[str, float]]]:
        """Best matches for each of the ``(Q, D)`` normalised queries, best first."""
        if len(self) == 0:
            raise ValueError("the index is empty")
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        scores = np.atleast_2d(queries) @ self.embeddings.T  # (Q, N)
        k = min(top_k, len(self))
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return [[(self.keys[j], float(row[j])) for j in best] for row, best in zip(scores, order)]

    def save(self, path: Union[str, Path]) -> None:
        """Write ``keys`` and ``embeddings`` to an ``.npz`` file."""
        np.savez(path, keys=np.asarray(self.keys, dtype=object), embeddings=self.embeddings)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "EmbeddingIndex":
        """Read an index written by :meth:`save`."""
        with np.load(path, allow_pickle=True) as data:
            return cls([str(k) for k in data["keys"]], data["embeddings"])
