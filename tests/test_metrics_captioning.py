"""Tests of espnet2_slap.metrics.captioning (pycocoevalcap; METEOR and PTB need Java)."""

import shutil
import time

import pytest

from espnet2_slap.metrics import captioning
from espnet2_slap.metrics.captioning import (
    METRIC_NAMES,
    UnavailableMetric,
    evaluate_captions,
    run_java_scorer,
    simple_tokenize,
    spice_unavailable_reason,
    tokenize_captions,
)

# Several clips so CIDEr-D's document frequencies are not degenerate; every first reference
# has >= 4 words so all four n-gram orders are non-empty.
REFERENCES = {
    "dog.wav": ["A dog barks loudly.", "a dog is barking"],
    "rain.wav": ["Rain falls on a tin roof.", "rain on a roof"],
    "car.wav": ["A car passes by on a wet road", "a vehicle drives past"],
    "crowd.wav": ["People talk in a crowded room", "a crowd chatters"],
}
IDENTICAL = {utt: refs[0] for utt, refs in REFERENCES.items()}
WRONG_OR_EMPTY = {"dog.wav": "", "rain.wav": "xylophone jazz", "car.wav": "", "crowd.wav": "jazz"}

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="java not on PATH")


@pytest.fixture
def no_corenlp_jars(tmp_path, monkeypatch):
    """Point SPICE at an empty lib directory, as on a machine that never downloaded CoreNLP."""
    monkeypatch.setattr(captioning, "SPICE_LIB_DIR", tmp_path)


@pytest.fixture
def no_java(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))


def test_simple_tokenize_lowercases_and_drops_punctuation():
    assert simple_tokenize("  A Dog's  bark... (loud)!\n") == "a dog s bark loud"
    assert simple_tokenize("") == ""


@needs_java
def test_ptb_tokenizer_keeps_keys_and_line_alignment():
    tokenized, tokenizer = tokenize_captions(
        {("ref", "a"): ["A Dog barks!", ""], ("hyp", "b"): ["Rain,\non the roof."]}
    )
    assert tokenizer.startswith("PTBTokenizer")
    assert tokenized == {("ref", "a"): ["a dog barks", ""], ("hyp", "b"): ["rain on the roof"]}


def test_fallback_without_java_scores_identical_captions_high(no_java, no_corenlp_jars):
    result = evaluate_captions(IDENTICAL, REFERENCES)
    assert result.tokenizer.startswith("simple") and "java not found" in result.tokenizer
    assert set(result.scores) == set(METRIC_NAMES)
    assert result.scores["BLEU-1"] == pytest.approx(1.0, abs=1e-6)
    assert result.scores["BLEU-4"] == pytest.approx(1.0, abs=1e-6)
    assert result.scores["ROUGE-L"] == pytest.approx(1.0)
    # Each prediction equals one of its 2 references: that reference alone gives 10 / 2.
    assert 5.0 - 1e-9 <= result.scores["CIDEr-D"] < 10.0
    for name in ("METEOR", "SPICE"):
        assert result.scores[name] == UnavailableMetric("java not found on PATH")
    assert isinstance(result.scores["SPIDEr"], UnavailableMetric)
    assert result.n_clips == 4


def test_fallback_without_java_scores_wrong_or_empty_captions_zero(no_java):
    result = evaluate_captions(WRONG_OR_EMPTY, REFERENCES)
    for name in ("BLEU-1", "BLEU-4"):
        assert 0.0 <= result.scores[name] < 1e-6
    assert result.scores["ROUGE-L"] == 0.0
    assert result.scores["CIDEr-D"] == 0.0


def test_spice_is_unavailable_with_a_reason_when_corenlp_jars_are_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(captioning, "SPICE_LIB_DIR", tmp_path)
    monkeypatch.setattr(captioning, "_java_executable", lambda: "/usr/bin/java")
    reason = spice_unavailable_reason()
    assert "stanford-corenlp-3.6.0.jar" in reason and "spice/lib" in reason
    assert str(tmp_path) not in reason  # reports are shared: no path of this machine
    for jar in captioning.SPICE_CORENLP_JARS:
        (tmp_path / jar).write_bytes(b"")
    assert spice_unavailable_reason() is None


@needs_java
def test_java_metric_timeout_reports_unavailable_instead_of_hanging(no_corenlp_jars):
    start = time.monotonic()
    result = evaluate_captions(IDENTICAL, REFERENCES, java_timeout_s=0.5)
    assert time.monotonic() - start < 8.0
    assert result.scores["METEOR"] == UnavailableMetric(
        "TimeoutError: METEOR did not finish within 0.5 s"
    )
    assert result.scores["BLEU-4"] == pytest.approx(1.0, abs=1e-6)


def test_java_scorer_failure_carries_the_child_error():
    with pytest.raises(RuntimeError, match="unknown Java-backed metric 'BLEU'"):
        run_java_scorer("BLEU", {"0": ["a dog"]}, {"0": ["a dog"]}, timeout_s=60)


@pytest.mark.slow
@needs_java
def test_full_evaluation_of_identical_captions(no_corenlp_jars):
    result = evaluate_captions(IDENTICAL, REFERENCES)
    assert result.tokenizer.startswith("PTBTokenizer")
    assert result.scores["BLEU-4"] == pytest.approx(1.0, abs=1e-6)
    assert result.scores["METEOR"] == pytest.approx(1.0, abs=1e-3)
    assert result.scores["ROUGE-L"] == pytest.approx(1.0)
    assert 5.0 - 1e-9 <= result.scores["CIDEr-D"] < 10.0
    spice = result.scores["SPICE"]
    assert isinstance(spice, UnavailableMetric) and "CoreNLP" in spice.unavailable_reason
    spider = result.scores["SPIDEr"]
    assert isinstance(spider, UnavailableMetric) and "needs SPICE" in spider.unavailable_reason


@pytest.mark.slow
@needs_java
def test_full_evaluation_of_wrong_or_empty_captions(no_corenlp_jars):
    result = evaluate_captions(WRONG_OR_EMPTY, REFERENCES)
    assert result.scores["BLEU-4"] < 1e-6
    assert result.scores["METEOR"] < 0.05
    assert result.scores["ROUGE-L"] == 0.0
    assert result.scores["CIDEr-D"] == 0.0


@pytest.mark.parametrize(
    "predictions,references,message",
    [
        ({"a": "x"}, {"b": ["x"]}, r"1 prediction id\(s\) have no references, e.g. \['a'\]"),
        ({"a": "x"}, {"a": ["x"], "b": ["y"]}, r"1 reference id\(s\) have no prediction"),
        ({}, {}, "predictions is empty"),
        ({"a": None}, {"a": ["x"]}, r"predictions\['a'\] must be a str"),
        ({"a": "x"}, {"a": "x"}, r"references\['a'\] must be a non-empty list"),
        ({"a": "x"}, {"a": []}, r"references\['a'\] must be a non-empty list"),
        ({"a": "x"}, {"a": ["ok", "  "]}, r"references\['a'\]\[1\] must be a non-blank"),
    ],
)
def test_bad_input_raises_a_clear_error(predictions, references, message):
    with pytest.raises(ValueError, match=message):
        evaluate_captions(predictions, references)
