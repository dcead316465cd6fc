"""Caption search over a token-by-token decoder: greedy search and batched beam search.

Both searches start every hypothesis from ``<sos/eos>``, end it at the first ``<sos/eos>``
or after ``max_length`` tokens, and never emit ``<blank>`` (id 0 of an ESPnet token list,
which is no caption token). Captions come back without ``<sos/eos>``.

Beam search keeps ``beam_size`` hypotheses per clip and runs all clips as one batch of
``B * beam_size`` rows. At each step every live hypothesis is extended by every token and the
``beam_size`` best extensions of a clip (by summed log-probability) are kept. Those ending in
``<sos/eos>`` leave the beam as finished captions, as does every extension that reaches
``max_length`` tokens; the others stay live, and the next step refills the beam from their
extensions (the rule of ESPnet's ``BeamSearch``). With ``beam_size == 1`` this is exactly
greedy search.

Length normalisation: finished captions are ranked by their mean log-probability per scored
token, i.e. their summed log-probability divided by the number of tokens plus one for the
``<sos/eos>`` when they ended with one — the per-token normalisation of the training loss.

Early stop, exact: a live hypothesis with summed log-probability ``c <= 0`` can only finish
with a mean of at most ``c / max_length`` (log-probabilities are <= 0 and no caption scores
more than ``max_length`` tokens), so the search stops once that bound cannot beat the best
finished caption of any clip. The result is the one the full ``max_length`` steps would give.
"""

from typing import List, Protocol

import torch

BLANK_ID = 0


class DecodingSession(Protocol):
    """A batch of hypotheses over ``batch_size`` clips, decoded one token at a time.

    The ``N`` hypotheses of a step are grouped by clip: ``N`` is a multiple of
    ``batch_size`` and rows ``[c * N // batch_size, (c + 1) * N // batch_size)`` belong to
    clip ``c``.
    """

    batch_size: int
    device: torch.device

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feed the newest token ``(N,)`` of every hypothesis; get ``(N, V)`` log-probs."""

    def reorder(self, index: torch.Tensor) -> None:
        """Make hypothesis ``i`` continue hypothesis ``index[i]`` ``(N,)`` of the same clip."""


def greedy_search(session: DecodingSession, sos_eos: int, max_length: int) -> List[List[int]]:
    """The most likely token at every step; a fresh ``session`` is stepped with
    ``batch_size`` rows. One caption per clip, at most ``max_length`` tokens."""
    tokens = torch.full((session.batch_size,), sos_eos, dtype=torch.long, device=session.device)
    finished = torch.zeros_like(tokens, dtype=torch.bool)
    steps = []
    for _ in range(max_length):
        log_probs = session.step(tokens)
        log_probs[:, BLANK_ID] = float("-inf")
        tokens = log_probs.argmax(dim=-1)
        steps.append(tokens)
        finished |= tokens == sos_eos
        if bool(finished.all()):
            break
    rows = torch.stack(steps, dim=1).tolist()
    return [row[: row.index(sos_eos)] if sos_eos in row else row for row in rows]


def beam_search(
    session: DecodingSession, sos_eos: int, max_length: int, beam_size: int
) -> List[List[int]]:
    """The module's beam search; a fresh ``session`` is stepped with ``batch_size *
    beam_size`` rows. The best finished caption of every clip."""
    batch, device = session.batch_size, session.device
    first_row = torch.arange(batch, device=device)[:, None] * beam_size  # (B, 1)
    # Summed log-probabilities of the live hypotheses (float64, whatever the model's dtype);
    # only one live hypothesis per clip at the start.
    scores = torch.full((batch, beam_size), float("-inf"), dtype=torch.float64, device=device)
    scores[:, 0] = 0.0
    history = torch.zeros(batch, beam_size, 0, dtype=torch.long, device=device)
    tokens = torch.full((batch * beam_size,), sos_eos, dtype=torch.long, device=device)
    best_score = torch.full((batch,), float("-inf"), dtype=torch.float64, device=device)
    best_captions: List[List[int]] = [[] for _ in range(batch)]
    for step in range(max_length):
        log_probs = session.step(tokens)
        log_probs[:, BLANK_ID] = float("-inf")
        vocab = log_probs.size(-1)
        candidates = scores[..., None] + log_probs.view(batch, beam_size, vocab)
        top_scores, top_index = candidates.view(batch, -1).topk(beam_size, dim=-1)  # (B, K)
        parent, token = top_index // vocab, top_index % vocab
        parent_history = history.gather(1, parent[..., None].expand(-1, -1, step))
        history = torch.cat([parent_history, token[..., None]], dim=-1)  # (B, K, step + 1)

        ends = (token == sos_eos) | (step + 1 == max_length)
        mean_log_prob = torch.where(ends, top_scores / (step + 1), float("-inf"))
        step_best, step_beam = mean_log_prob.max(dim=-1)
        for clip in (step_best > best_score).nonzero().flatten().tolist():
            caption = history[clip, step_beam[clip]].tolist()
            best_captions[clip] = caption[:-1] if caption[-1] == sos_eos else caption
            best_score[clip] = step_best[clip]

        scores = top_scores.masked_fill(ends, float("-inf"))
        if bool((scores.max(dim=-1).values / max_length <= best_score).all()):
            break
        session.reorder((first_row + parent).flatten())
        tokens = token.flatten()
    return best_captions
