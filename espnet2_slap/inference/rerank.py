"""Caption-likelihood re-ranking of text-to-audio retrieval.

The embedding search gives each text query its top ``depth`` clips; each candidate is then
scored by ``cosine + weight * log p(query | clip)``, where ``log p`` is the caption decoder's
log-likelihood of the query's caption tokens (``<sos/eos>`` at the end included) divided by
their number, and the candidates are re-ordered by that score (a stable sort, so equal scores
keep the embedding order). Clips outside the top ``depth`` keep their embedding rank below
the candidates. ``weight = 0`` gives back the embedding ranking exactly; a large weight ranks
the candidates by likelihood. The weight is chosen on a validation set
(:func:`rerank_table`, :func:`choose_weight`).

Cost: one decoder pass per (query, candidate) pair, teacher-forced; each candidate clip is
encoded once for all the queries that have it among their candidates.
"""

import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

if TYPE_CHECKING:
    from espnet2_slap.inference.embedding_index import EmbeddingIndex
    from espnet2_slap.inference.slap_inference import SLAPInference

DEFAULT_WEIGHTS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 1000.0)


def caption_token_ids(slap: "SLAPInference", text: str) -> List[int]:
    """A query as caption-decoder ids (as the training preprocessor tokenizes captions),
    cut to the decoder's longest caption."""
    if slap.model.caption_decoder is None:
        raise ValueError("this model has no caption decoder (trained without L_CAP): "
                         "caption-likelihood re-ranking needs one")
    ids = slap.caption_ids.tokens2ids(slap.caption_tokenizer.text2tokens(text))
    return list(ids[: slap.model.caption_decoder.max_length - 1])


@torch.no_grad()
def caption_log_likelihoods(
    slap: "SLAPInference", wave: torch.Tensor, texts: Sequence[str]
) -> np.ndarray:
    """``(T,)`` waveform and ``N`` texts -> ``(N,)`` mean log-probability per token of each
    text (its ids, then ``<sos/eos>``) under the caption decoder given the clip."""
    decoder = slap.model.caption_decoder
    ids = [caption_token_ids(slap, t) for t in texts]
    if not ids:
        return np.zeros(0, dtype=np.float64)
    memory = slap.caption_memory(wave)  # (1, S, W)
    batch, longest = len(ids), max(len(x) for x in ids) + 1
    eos = decoder.sos_eos
    inputs = torch.full((batch, longest), eos, dtype=torch.long)
    targets = torch.full((batch, longest), -1, dtype=torch.long)
    for row, seq in enumerate(ids):
        inputs[row, 1 : len(seq) + 1] = torch.tensor(seq, dtype=torch.long)
        targets[row, : len(seq) + 1] = torch.tensor(seq + [eos], dtype=torch.long)
    inputs, targets = inputs.to(memory.device), targets.to(memory.device)
    valid = torch.ones((batch, memory.size(1)), dtype=torch.bool, device=memory.device)
    logits = decoder.logits(memory.expand(batch, -1, -1), valid, inputs)  # (N, L, V)
    scored = targets >= 0
    log_probs = logits.log_softmax(-1).gather(-1, targets.clamp(min=0)[..., None])[..., 0]
    total = (log_probs * scored).sum(-1) / scored.sum(-1)
    return total.double().cpu().numpy()


def top_candidates(similarity: np.ndarray, depth: int) -> np.ndarray:
    """``(Q, N)`` scores -> ``(Q, min(depth, N))`` indices of each query's best, best first
    (the order of ``EmbeddingIndex.search``)."""
    if depth < 1:
        raise ValueError(f"the re-ranking depth must be >= 1, got {depth}")
    return np.argsort(-similarity, axis=1, kind="stable")[:, :depth]


def candidate_log_likelihoods(
    score_clip: Callable[[int, List[str]], np.ndarray],
    queries: Sequence[str],
    candidates: np.ndarray,
) -> np.ndarray:
    """``(Q, K)`` log-likelihoods of each query given each of its candidate clips.

    ``score_clip(j, texts)`` scores texts against clip ``j``; it is called once per distinct
    candidate clip, with every query that has that clip among its candidates.
    """
    result = np.zeros(candidates.shape, dtype=np.float64)
    for clip in np.unique(candidates):
        rows, cols = np.nonzero(candidates == clip)
        result[rows, cols] = score_clip(int(clip), [queries[r] for r in rows])
    return result


def mixed_order(
    similarity: np.ndarray, log_likelihood: np.ndarray, weight: float
) -> Tuple[np.ndarray, np.ndarray]:
    """``(Q, K)`` candidate similarities (best first) and log-likelihoods -> the re-ranked
    order ``(Q, K)`` (positions into K) and the mixed scores ``(Q, K)`` in that order."""
    mixed = similarity + weight * log_likelihood
    order = np.argsort(-mixed, axis=1, kind="stable")
    return order, np.take_along_axis(mixed, order, axis=1)


def reranked_similarity(
    similarity: np.ndarray, candidates: np.ndarray, log_likelihood: np.ndarray, weight: float
) -> np.ndarray:
    """A ``(Q, N)`` score matrix whose ranking is the re-ranked one: the candidates of each
    query, ordered by their mixed score, above every other clip, which keeps its score.
    Feeds :func:`metrics.retrieval.evaluate_retrieval` unchanged."""
    scores = similarity.astype(np.float64, copy=True)
    mixed = np.take_along_axis(scores, candidates, axis=1) + weight * log_likelihood
    others = np.ones(scores.shape, dtype=bool)
    np.put_along_axis(others, candidates, False, axis=1)
    best_other = np.where(others, scores, -np.inf).max(axis=1)  # -inf when all are candidates
    gap = best_other - mixed.min(axis=1)
    # Lift a query's candidates only where one fell below another clip (never with weight 0,
    # whose candidates are already the top: the scores then stay exactly as they were).
    lift = np.where(np.isfinite(gap) & (gap > 0), gap + 1.0, 0.0)
    np.put_along_axis(scores, candidates, mixed + lift[:, None], axis=1)
    return scores


def rerank_search(
    slap: "SLAPInference",
    queries: Sequence[str],
    index: "EmbeddingIndex",
    top_k: int,
    weight: float,
    depth: int,
    audio: Optional[Dict[str, object]] = None,
) -> List[List[Tuple[str, float]]]:
    """``SLAPInference.retrieve_audio`` with re-ranking: the ``max(depth, top_k)`` best clips
    of each query re-ordered by the mixed score; ``(key, mixed score)`` best first.

    ``audio`` maps index keys to audio inputs; by default the keys are file paths (as
    ``slap embed`` writes them).
    """
    queries = [queries] if isinstance(queries, str) else list(queries)
    similarity = slap.embed_text(queries) @ index.embeddings.T  # (Q, N), as index.search

    def wave_of(j: int) -> torch.Tensor:
        key = index.keys[j]
        source = key if audio is None else audio[key]
        return source if isinstance(source, torch.Tensor) else slap.load(source)

    candidates, log_likelihood, _ = score_candidates(
        slap, similarity, queries, wave_of, max(depth, top_k)
    )
    order, mixed = mixed_order(
        np.take_along_axis(similarity, candidates, axis=1), log_likelihood, weight
    )
    ranked = np.take_along_axis(candidates, order, axis=1)[:, :top_k]
    return [
        [(index.keys[j], float(s)) for j, s in zip(row, scores)]
        for row, scores in zip(ranked, mixed[:, :top_k])
    ]


def score_candidates(
    slap: "SLAPInference",
    similarity: np.ndarray,
    queries: Sequence[str],
    wave_of: Callable[[int], torch.Tensor],
    depth: int,
) -> Tuple[np.ndarray, np.ndarray, float]:
    """Each query's top ``depth`` clips of ``similarity`` ``(Q, N)`` and their ``(Q, K)``
    log-likelihoods; ``wave_of(j)`` gives clip ``j``'s waveform. Also returns the seconds
    spent on the likelihoods (clip encoding and decoder passes), the re-ranking's cost."""
    candidates = top_candidates(similarity, depth)
    watch = Stopwatch()

    def score_clip(j: int, texts: List[str]) -> np.ndarray:
        wave = wave_of(j)  # reading the audio is not counted: plain retrieval reads none
        with watch:
            return caption_log_likelihoods(slap, wave, texts)

    log_likelihood = candidate_log_likelihoods(score_clip, queries, candidates)
    return candidates, log_likelihood, watch.seconds


def rerank_table(
    similarity: np.ndarray,
    candidates: np.ndarray,
    log_likelihood: np.ndarray,
    caption_to_audio: np.ndarray,
    weights: Sequence[float] = DEFAULT_WEIGHTS,
) -> List[Dict[str, float]]:
    """Text-to-audio ``{weight, R@1, R@5, R@10}`` (percent) after re-ranking, per weight."""
    from espnet2_slap.metrics.retrieval import evaluate_retrieval

    table = []
    for weight in sorted(set(float(w) for w in weights)):
        scores = reranked_similarity(similarity, candidates, log_likelihood, weight)
        t2a = evaluate_retrieval(scores, caption_to_audio).text_to_audio
        table.append({"weight": weight, "R@1": t2a.recall_at_1, "R@5": t2a.recall_at_5,
                      "R@10": t2a.recall_at_10})
    return table


def choose_weight(table: Sequence[Dict[str, float]]) -> float:
    """The weight of a :func:`rerank_table` with the best mean of R@1, R@5 and R@10 (ties:
    the smaller weight)."""
    best = max(table, key=lambda row: (row["R@1"] + row["R@5"] + row["R@10"], -row["weight"]))
    return best["weight"]


def rerank_data_dir(
    slap: "SLAPInference",
    args,
    keys: List[str],
    similarity: np.ndarray,
    queries: List[str],
    caption_to_audio: np.ndarray,
    read_references: Callable,
) -> Tuple[Dict[str, object], str]:
    """``slap_score --rerank_depth N``: text-to-audio R@1/5/10 of ``similarity`` ``(Q, N)``
    without and with re-ranking, the weight (``--rerank_weight``, or chosen on
    ``--rerank_valid_dir``) and the seconds per query; clips are read from ``wav.scp``."""
    depth, valid_table = args.rerank_depth, None
    if args.rerank_weight is not None:
        weight, chosen_on = float(args.rerank_weight), "given (--rerank_weight)"
    elif args.rerank_valid_dir:
        valid_dir = Path(args.rerank_valid_dir)
        valid_keys, valid_wave = _data_dir_waves(slap, valid_dir)
        _, references = read_references(valid_dir, valid_keys)
        valid = [(i, c) for i, k in enumerate(valid_keys) for c in references[k]]
        valid_audio = slap.embed_audio([valid_wave(j) for j in range(len(valid_keys))],
                                       slap.sample_rate)
        valid_queries = [c for _, c in valid]
        valid_similarity = slap.embed_text(valid_queries) @ valid_audio.T
        candidates, log_likelihood, _ = score_candidates(
            slap, valid_similarity, valid_queries, valid_wave, depth
        )
        valid_table = rerank_table(valid_similarity, candidates, log_likelihood,
                                   np.array([i for i, _ in valid]),
                                   args.rerank_weights or DEFAULT_WEIGHTS)
        weight, chosen_on = choose_weight(valid_table), f"{valid_dir} (mean of R@1, R@5, R@10)"
    else:
        raise SystemExit("error: --rerank_depth needs --rerank_weight or --rerank_valid_dir")

    test_keys, test_wave = _data_dir_waves(slap, Path(args.data_dir))
    position = {k: j for j, k in enumerate(test_keys)}
    missing = [k for k in keys if k not in position]
    if missing:
        raise SystemExit(f"error: {args.data_dir}/wav.scp lacks {len(missing)} scored clips, "
                         f"e.g. {missing[0]}")
    candidates, log_likelihood, seconds = score_candidates(
        slap, similarity, queries, lambda j: test_wave(position[keys[j]]), depth
    )
    rows = rerank_table(similarity, candidates, log_likelihood, caption_to_audio, [0.0, weight])
    without, with_rerank = rows[0], rows[-1]
    summary = {"depth": depth, "weight": weight, "chosen_on": chosen_on,
               "without": without, "with": with_rerank, "valid_table": valid_table,
               "seconds_per_query": seconds / max(1, len(queries)), "queries": len(queries)}
    per_query = summary["seconds_per_query"]
    markdown = "\n".join([
        f"### Text-to-audio re-ranking by caption likelihood ({Path(args.data_dir).name})",
        "",
        f"Top {depth} clips per query re-ranked by cosine + w * mean log p(query | clip); "
        f"w = {weight:g}, {chosen_on}.",
        "",
        "| ranking | R@1 | R@5 | R@10 | extra s / query |",
        "|---|---:|---:|---:|---:|",
        f"| embedding | {without['R@1']:.1f} | {without['R@5']:.1f} | "
        f"{without['R@10']:.1f} | 0 |",
        f"| + caption re-ranking | {with_rerank['R@1']:.1f} | {with_rerank['R@5']:.1f} | "
        f"{with_rerank['R@10']:.1f} | {per_query:.3f} |",
    ]) + "\n"
    return summary, markdown


def _data_dir_waves(slap: "SLAPInference", data_dir: Path):
    """Sorted utt ids of ``data_dir/wav.scp`` and ``wave(j)``, clip ``j`` at the model rate."""
    from espnet2.fileio.sound_scp import SoundScpReader

    if not (data_dir / "wav.scp").is_file():
        raise SystemExit(f"error: {data_dir / 'wav.scp'}: no such file (re-ranking reads audio)")
    reader = SoundScpReader(str(data_dir / "wav.scp"), always_2d=False, dtype="float32")
    keys = sorted(reader.keys())

    def wave(j: int) -> torch.Tensor:
        rate, samples = reader[keys[j]]
        return slap.load(samples, rate)

    return keys, wave


class Stopwatch:
    """Seconds spent inside ``with`` blocks, summed."""

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds += time.perf_counter() - self._start
