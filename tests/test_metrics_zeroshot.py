"""Tests of espnet2_slap.metrics.zeroshot on constructed score matrices."""

import numpy as np
import pytest
import torch

from espnet2_slap.metrics.zeroshot import evaluate_zero_shot

CLASS_NAMES = ["dog", "rain", "siren", "speech", "engine", "bird"]


def _constructed_case():
    """8 clips, 6 classes. True-class rank of each clip noted on the right."""
    scores = np.array(
        [
            [0.9, 0.1, 0.0, 0.0, 0.0, 0.0],  # dog,    rank 1 (hit)
            [0.2, 0.8, 0.1, 0.0, 0.0, 0.0],  # dog,    rank 2, predicted rain
            [0.1, 0.7, 0.0, 0.0, 0.0, 0.0],  # rain,   rank 1 (hit)
            [0.6, 0.5, 0.9, 0.8, 0.7, 0.0],  # rain,   rank 5, predicted siren
            [0.0, 0.0, 0.3, 0.3, 0.0, 0.0],  # siren,  tie with speech: rank 2, predicted speech
            [0.0, 0.0, 0.0, 0.5, 0.6, 0.4],  # speech, rank 2, predicted engine
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],  # speech, rank 3, predicted bird
            [0.0, 0.0, 0.0, 0.0, 0.9, 0.1],  # engine, rank 1 (hit)
        ]
    )
    labels = np.array([0, 0, 1, 1, 2, 3, 3, 4])
    return scores, labels


def test_accuracies_and_predictions_on_constructed_case():
    scores, labels = _constructed_case()
    result = evaluate_zero_shot(scores, labels, CLASS_NAMES)
    assert result.top1_accuracy == pytest.approx(100 * 3 / 8)
    assert result.top5_accuracy == pytest.approx(100.0)
    np.testing.assert_array_equal(result.predictions, [0, 1, 1, 2, 3, 4, 5, 4])
    assert result.chance_top1 == pytest.approx(100 / 6)
    assert result.chance_top5 == pytest.approx(500 / 6)
    assert (result.n_clips, result.n_classes) == (8, 6)


def test_per_class_table_on_constructed_case():
    scores, labels = _constructed_case()
    result = evaluate_zero_shot(scores, labels, CLASS_NAMES)
    table = [(c.class_name, c.support, c.correct, c.accuracy) for c in result.per_class]
    assert table == [
        ("dog", 2, 1, 50.0),
        ("rain", 2, 1, 50.0),
        ("siren", 1, 0, 0.0),
        ("speech", 2, 0, 0.0),
        ("engine", 1, 1, 100.0),
        ("bird", 0, 0, None),
    ]
    # Balanced accuracy over the 5 classes that have clips.
    assert result.mean_per_class_accuracy == pytest.approx((50 + 50 + 0 + 0 + 100) / 5)


def test_top5_counts_a_true_class_tied_at_rank_5_as_a_miss():
    # True class 0 ties with 4 others below one better class: 6 classes score >= it.
    scores = np.array([[0.5, 0.5, 0.5, 0.5, 0.5, 0.9]])
    result = evaluate_zero_shot(scores, [0], CLASS_NAMES)
    assert result.top5_accuracy == 0.0
    scores = np.array([[0.5, 0.5, 0.5, 0.5, 0.1, 0.9]])
    assert evaluate_zero_shot(scores, [0], CLASS_NAMES).top5_accuracy == 100.0


def test_constant_scores_are_all_misses_and_predict_another_class():
    result = evaluate_zero_shot(np.zeros((4, 3)), [0, 1, 2, 0], ["a", "b", "c"])
    assert result.top1_accuracy == 0.0
    np.testing.assert_array_equal(result.predictions, [1, 0, 0, 1])
    assert result.top5_accuracy is None and result.chance_top5 is None


def test_accepts_torch_inputs():
    scores, labels = _constructed_case()
    result = evaluate_zero_shot(
        torch.tensor(scores, dtype=torch.bfloat16), torch.tensor(labels), CLASS_NAMES
    )
    assert result.top1_accuracy == pytest.approx(100 * 3 / 8)


@pytest.mark.parametrize(
    "scores,labels,names,message",
    [
        (np.zeros((2, 3)), [0, 1], ["a", "b"], "class_names has 2 entries but scores has 3"),
        (np.zeros((2, 3)), [0, 3], ["a", "b", "c"], r"labels\[1\] = 3 is outside \[0, 3\)"),
        (np.zeros((2, 3)), [0], ["a", "b", "c"], r"labels must have shape \(2,\)"),
        (np.full((2, 3), np.nan), [0, 1], ["a", "b", "c"], "scores holds 6 NaN/inf"),
        (np.zeros((2, 3)), [0, 1], ["a", "b", 3], "class_names must all be strings"),
    ],
)
def test_bad_input_raises_a_clear_error(scores, labels, names, message):
    with pytest.raises(ValueError, match=message):
        evaluate_zero_shot(scores, labels, names)
