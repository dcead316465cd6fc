"""Tests of espnet2_slap.metrics.report: JSON, Markdown tables and the rank plot."""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from espnet2_slap.metrics.captioning import METRIC_NAMES, CaptioningResult, UnavailableMetric
from espnet2_slap.metrics.report import (
    captioning_markdown,
    plot_rank_distribution,
    retrieval_markdown,
    to_jsonable,
    write_json,
    zeroshot_markdown,
)
from espnet2_slap.metrics.retrieval import evaluate_retrieval
from espnet2_slap.metrics.zeroshot import evaluate_zero_shot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _retrieval_result():
    similarity = np.array(
        [[0.9, 0.1, 0.2], [0.3, 0.5, 0.1], [0.2, 0.4, 0.6], [0.1, 0.2, 0.3], [0.7, 0.8, 0.5],
         [0.0, 0.1, 0.95]]
    )
    return evaluate_retrieval(similarity, np.array([0, 0, 1, 1, 2, 2]))


def _captioning_result():
    scores = {name: 0.25 for name in METRIC_NAMES}
    scores["SPICE"] = UnavailableMetric("CoreNLP jars | missing\nfrom lib")
    scores["SPIDEr"] = UnavailableMetric("needs SPICE")
    return CaptioningResult(scores=scores, tokenizer="PTBTokenizer (test)", n_clips=3)


def _table_rows(markdown: str):
    return [line for line in markdown.splitlines() if line.startswith("|")]


def _cells(row: str):
    """Cells of a Markdown table row, honouring escaped pipes."""
    cells = row.strip().strip("|").replace("\\|", "\0").split("|")
    return [cell.strip().replace("\0", "|") for cell in cells]


def test_write_json_round_trips_dataclasses_numpy_and_non_finite(tmp_path):
    result = _retrieval_result()
    path = tmp_path / "nested" / "retrieval.json"
    extra = [np.float32(0.5), np.nan, torch.tensor([1, 2])]
    write_json(path, {"retrieval": result, "extra": extra})
    loaded = json.loads(path.read_text(encoding="utf-8"))
    t2a = loaded["retrieval"]["text_to_audio"]
    assert t2a["ranks"] == [1, 2, 2, 2, 3, 1]
    assert t2a["recall_at_1"] == pytest.approx(100 * 2 / 6)
    assert t2a["chance"]["recall_at_1"] == pytest.approx(100 / 3)
    assert loaded["retrieval"]["audio_to_text"]["ranks"] == [1, 3, 1]
    assert loaded["extra"] == [0.5, None, [1, 2]]


def test_write_json_records_unavailable_metrics_with_their_reason(tmp_path):
    path = tmp_path / "captioning.json"
    write_json(path, _captioning_result())
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded["scores"]["BLEU-4"] == 0.25
    assert loaded["scores"]["SPIDEr"] == {"unavailable_reason": "needs SPICE"}


def test_to_jsonable_names_where_an_unsupported_value_sits():
    @dataclass
    class Holder:
        values: dict

    with pytest.raises(TypeError, match=r"obj\.values\['bad'\] of type object"):
        to_jsonable(Holder(values={"ok": 1, "bad": object()}))
    with pytest.raises(TypeError, match="key of type tuple"):
        to_jsonable({(1, 2): 3})


def test_retrieval_markdown_has_both_directions_and_chance_rows():
    markdown = retrieval_markdown(_retrieval_result(), title="Clotho eval")
    assert markdown.startswith("### Clotho eval\n")
    rows = _table_rows(markdown)
    assert len(rows) == 2 + 4  # header, alignment, 2 directions x (measured, chance)
    assert _cells(rows[0]) == ["Direction", "R@1", "R@5", "R@10", "mAP@10", "Median rank",
                               "Mean rank"]
    assert _cells(rows[2]) == ["Text → Audio", "33.33", "100.00", "100.00", "63.89", "2",
                               "1.83"]
    assert _cells(rows[3])[:2] == ["*Text → Audio (chance)*", "33.33"]
    assert _cells(rows[4])[:3] == ["Audio → Text", "66.67", "100.00"]
    assert "3 clips, 6 captions" in markdown


def test_zeroshot_markdown_overall_and_per_class_tables():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    result = evaluate_zero_shot(scores, [0, 1, 1], ["dog", "rain|storm"])
    rows = _table_rows(zeroshot_markdown(result))
    assert _cells(rows[2]) == ["Top-1 accuracy", "66.67", "50.00"]
    assert _cells(rows[3]) == ["Top-5 accuracy", "–", "–"]
    per_class = [_cells(row) for row in rows if _cells(row)[0] in ("dog", "rain|storm")]
    assert per_class == [["dog", "1", "1", "100.00"], ["rain|storm", "2", "1", "50.00"]]


def test_captioning_markdown_prints_numbers_or_na_with_reason():
    markdown = captioning_markdown(_captioning_result())
    rows = {_cells(row)[0]: _cells(row)[1] for row in _table_rows(markdown)[2:]}
    assert list(rows) == list(METRIC_NAMES)
    assert rows["CIDEr-D"] == "0.2500"
    assert rows["SPICE"] == "n/a (CoreNLP jars | missing from lib)"
    assert rows["SPIDEr"] == "n/a (needs SPICE)"
    assert "tokenizer: PTBTokenizer (test)" in markdown


def test_rank_distribution_plot_writes_a_png(tmp_path):
    path = tmp_path / "plots" / "ranks.png"
    rng = np.random.default_rng(0)
    plot_rank_distribution(rng.integers(1, 200, size=500), torch.tensor([1, 1, 2, 7, 40]), path)
    data = Path(path).read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000


@pytest.mark.parametrize("bad_ranks", [np.array([], dtype=int), np.array([0, 1]), np.ones((2, 2))])
def test_rank_distribution_plot_rejects_bad_ranks(tmp_path, bad_ranks):
    with pytest.raises(ValueError, match="Audio → Text ranks"):
        plot_rank_distribution(np.array([1, 2]), bad_ranks, tmp_path / "ranks.png")
