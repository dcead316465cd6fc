"""Tests of espnet2_slap.metrics.retrieval against hand-computed rankings."""

import itertools

import numpy as np
import pytest
import torch

from espnet2_slap.metrics.retrieval import (
    chance_average_precision_at_k,
    chance_recall_at_k,
    conservative_ranks,
    evaluate_retrieval,
)

# 3 clips x 2 captions. Hand-ranked below in test_three_clips_six_captions_by_hand.
HAND_SIMILARITY = np.array(
    [
        [0.9, 0.1, 0.2],  # caption 0, clip 0
        [0.3, 0.5, 0.1],  # caption 1, clip 0
        [0.2, 0.4, 0.6],  # caption 2, clip 1
        [0.1, 0.2, 0.3],  # caption 3, clip 1
        [0.7, 0.8, 0.5],  # caption 4, clip 2
        [0.0, 0.1, 0.95],  # caption 5, clip 2
    ]
)
HAND_CAPTION_TO_AUDIO = np.array([0, 0, 1, 1, 2, 2])


def test_perfect_ranking_scores_100_with_median_rank_1():
    caption_to_audio = np.repeat(np.arange(4), [1, 2, 3, 5])
    similarity = np.eye(4)[caption_to_audio]
    result = evaluate_retrieval(similarity, caption_to_audio)
    for direction in (result.text_to_audio, result.audio_to_text):
        assert direction.recall_at_1 == direction.recall_at_5 == direction.recall_at_10 == 100.0
        assert direction.map_at_10 == pytest.approx(100.0)
        assert direction.median_rank == 1.0 and direction.mean_rank == 1.0
    assert result.text_to_audio.ranks.shape == (11,)
    assert result.audio_to_text.ranks.shape == (4,)


def test_reversed_ranking_puts_every_correct_item_last():
    n = 20
    result = evaluate_retrieval(-np.eye(n), np.arange(n))
    for direction in (result.text_to_audio, result.audio_to_text):
        np.testing.assert_array_equal(direction.ranks, np.full(n, n))
        assert direction.recall_at_10 == 0.0
        assert direction.map_at_10 == 0.0
        assert direction.median_rank == n


def test_constant_similarity_gives_the_worst_rank_among_ties():
    caption_to_audio = np.array([0, 0, 1, 1, 2, 2])
    result = evaluate_retrieval(np.full((6, 3), 0.5), caption_to_audio)
    np.testing.assert_array_equal(result.text_to_audio.ranks, np.full(6, 3))
    # The best caption of a clip comes after the 4 captions of the other clips.
    np.testing.assert_array_equal(result.audio_to_text.ranks, np.full(3, 5))
    assert result.text_to_audio.recall_at_1 == 0.0
    assert result.audio_to_text.recall_at_1 == 0.0
    # Correct captions at ranks 5 and 6: AP = (1/5 + 2/6) / 2.
    assert result.audio_to_text.map_at_10 == pytest.approx(100 * (1 / 5 + 2 / 6) / 2)
    assert result.text_to_audio.map_at_10 == pytest.approx(100 / 3)


def test_partial_tie_counts_only_the_tied_wrong_candidates():
    # Caption 0 ties with clip 1 and beats clip 2: rank 2, not 1 and not 3.
    similarity = np.array([[0.5, 0.5, 0.1], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    result = evaluate_retrieval(similarity, np.arange(3))
    np.testing.assert_array_equal(result.text_to_audio.ranks, [2, 1, 1])


def test_three_clips_six_captions_by_hand():
    result = evaluate_retrieval(HAND_SIMILARITY, HAND_CAPTION_TO_AUDIO)
    t2a, a2t = result.text_to_audio, result.audio_to_text
    # Text -> audio: each caption's clip among 3 clips.
    np.testing.assert_array_equal(t2a.ranks, [1, 2, 2, 2, 3, 1])
    assert t2a.recall_at_1 == pytest.approx(100 * 2 / 6)
    assert t2a.recall_at_5 == 100.0
    assert t2a.median_rank == 2.0
    assert t2a.mean_rank == pytest.approx(11 / 6)
    assert t2a.map_at_10 == pytest.approx(100 * (1 + 1 / 2 + 1 / 2 + 1 / 2 + 1 / 3 + 1) / 6)
    # Audio -> text, column by column:
    #   clip 0: 0.9(c0 ok) 0.7 0.3(c1 ok) ...  -> correct at ranks 1, 3; AP = (1 + 2/3) / 2
    #   clip 1: 0.8 0.5 0.4(c2 ok) 0.2(c3 ok) -> correct at ranks 3, 4; AP = (1/3 + 2/4) / 2
    #   clip 2: 0.95(c5 ok) 0.6 0.5(c4 ok)   -> correct at ranks 1, 3; AP = (1 + 2/3) / 2
    np.testing.assert_array_equal(a2t.ranks, [1, 3, 1])
    assert a2t.recall_at_1 == pytest.approx(100 * 2 / 3)
    assert a2t.recall_at_5 == 100.0
    assert a2t.median_rank == 1.0
    assert a2t.mean_rank == pytest.approx(5 / 3)
    expected_ap = [(1 + 2 / 3) / 2, (1 / 3 + 2 / 4) / 2, (1 + 2 / 3) / 2]
    assert a2t.map_at_10 == pytest.approx(100 * np.mean(expected_ap))
    # Chance: 1 of 3 clips; for a clip, 2 of 6 captions.
    assert t2a.chance.recall_at_1 == pytest.approx(100 / 3)
    assert a2t.chance.recall_at_1 == pytest.approx(100 * (1 - 4 / 6))
    assert a2t.chance.recall_at_5 == pytest.approx(100.0)


def test_map_at_10_ignores_captions_below_rank_10_and_normalises_by_min_m_10():
    # One clip with 12 captions that occupy ranks 1..12 after 0 wrong ones, plus a
    # distractor clip with one caption that always scores higher than 2 of them.
    n_relevant = 12
    column = np.linspace(1.0, 0.0, n_relevant)
    distractor_caption = np.array([[0.0, 1.0]])
    similarity = np.vstack([np.stack([column, np.zeros(n_relevant)], axis=1), distractor_caption])
    similarity[n_relevant, 0] = (column[1] + column[2]) / 2  # lands at rank 3 for clip 0
    caption_to_audio = np.array([0] * n_relevant + [1])
    result = evaluate_retrieval(similarity, caption_to_audio)
    relevant_ranks = np.array([1, 2] + list(range(4, 14)))
    in_top_10 = relevant_ranks <= 10
    expected = np.sum(np.arange(1, 13)[in_top_10] / relevant_ranks[in_top_10]) / 10
    assert result.audio_to_text.ranks[0] == 1
    assert result.audio_to_text.map_at_10 == pytest.approx(100 * (expected + 1.0) / 2)


def _enumerated_chance(n_candidates, n_relevant, k):
    """Exact expected hit@k and AP@k over all orderings of a small candidate set."""
    hits, precisions = [], []
    for relevant_positions in itertools.combinations(range(1, n_candidates + 1), n_relevant):
        ranks = np.array(relevant_positions)
        hits.append(ranks[0] <= k)
        in_top = ranks <= k
        precisions.append(
            np.sum(np.arange(1, n_relevant + 1)[in_top] / ranks[in_top]) / min(n_relevant, k)
        )
    return np.mean(hits), np.mean(precisions)


@pytest.mark.parametrize(
    "n_candidates,n_relevant,k", [(6, 2, 1), (6, 2, 3), (7, 3, 2), (5, 1, 2), (9, 4, 10), (1, 1, 1)]
)
def test_chance_formulas_match_exact_enumeration(n_candidates, n_relevant, k):
    expected_recall, expected_ap = _enumerated_chance(n_candidates, n_relevant, k)
    assert chance_recall_at_k(n_candidates, n_relevant, k) == pytest.approx(expected_recall)
    assert chance_average_precision_at_k(n_candidates, n_relevant, k) == pytest.approx(
        expected_ap
    )


def test_chance_rows_average_over_clips_with_different_caption_counts():
    caption_to_audio = np.array([0, 1, 1, 1])  # clip 0: 1 caption, clip 1: 3 captions
    result = evaluate_retrieval(np.random.default_rng(0).normal(size=(4, 2)), caption_to_audio)
    expected_a2t_r1 = ((1 - 3 / 4) + (1 - 1 / 4)) / 2
    assert result.audio_to_text.chance.recall_at_1 == pytest.approx(100 * expected_a2t_r1)
    assert result.text_to_audio.chance.recall_at_1 == pytest.approx(50.0)
    assert result.text_to_audio.chance.recall_at_5 == pytest.approx(100.0)
    assert result.text_to_audio.chance.map_at_10 == pytest.approx(100 * (1 + 1 / 2) / 2)


def test_random_scores_reach_chance_on_average():
    rng = np.random.default_rng(1)
    caption_to_audio = np.repeat(np.arange(30), 3)
    recalls = [
        evaluate_retrieval(rng.normal(size=(90, 30)), caption_to_audio).audio_to_text.recall_at_5
        for _ in range(200)
    ]
    chance = evaluate_retrieval(rng.normal(size=(90, 30)), caption_to_audio).audio_to_text.chance
    assert np.mean(recalls) == pytest.approx(chance.recall_at_5, abs=1.5)


def test_conservative_ranks_places_tied_wrong_candidates_first():
    ranks = conservative_ranks(np.array([0.2, 0.5]), np.array([0.5, 0.1, 0.2, 0.9]))
    np.testing.assert_array_equal(ranks, [3, 5])


def test_accepts_torch_tensors():
    result = evaluate_retrieval(torch.tensor(HAND_SIMILARITY), torch.tensor(HAND_CAPTION_TO_AUDIO))
    np.testing.assert_array_equal(result.text_to_audio.ranks, [1, 2, 2, 2, 3, 1])


@pytest.mark.parametrize(
    "similarity,caption_to_audio,message",
    [
        (np.zeros(3), np.arange(3), "similarity must be a 2-D array"),
        (np.zeros((3, 3)), np.arange(2), r"caption_to_audio must have shape \(3,\)"),
        (np.zeros((3, 3)), np.array([0.0, 1.0, 2.0]), "caption_to_audio must hold integer"),
        (np.zeros((3, 3)), np.array([0, 1, 3]), r"caption_to_audio\[2\] = 3 is outside"),
        (np.zeros((3, 3)), np.array([0, 1, 1]), r"no caption to 1 clip.*\[2\]"),
        (np.array([[0.0, np.nan], [0.0, 0.0]]), np.arange(2), r"NaN/inf.*\[0, 1\]"),
        (np.array([[0.0, 0.0], [np.inf, 0.0]]), np.arange(2), r"NaN/inf.*\[1, 0\]"),
        (np.zeros((0, 3)), np.zeros(0, dtype=int), "similarity must not be empty"),
    ],
)
def test_bad_input_raises_a_clear_error(similarity, caption_to_audio, message):
    with pytest.raises(ValueError, match=message):
        evaluate_retrieval(similarity, caption_to_audio)
