"""Audio captioning metrics computed with pycocoevalcap 1.2.

Metrics: BLEU-1..4 (corpus level, "closest" reference length), METEOR 1.5, ROUGE-L, CIDEr-D
(coco-caption's ``Cider`` is CIDEr-D: clipped n-gram counts and a Gaussian length penalty,
scaled by 10), SPICE and SPIDEr = (CIDEr-D + SPICE) / 2. Values are on pycocoevalcap's scale
(0..1, CIDEr-D 0..10).

Tokenization: all captions go through pycocoevalcap's ``PTBTokenizer`` (Stanford CoreNLP
3.4.1 on Java: lowercased, punctuation tokens dropped). When ``java`` is not on PATH, or the
tokenizer fails, :func:`simple_tokenize` is used instead and
:attr:`CaptioningResult.tokenizer` says so and why.

Failure handling: every metric is computed on its own and a failure turns that metric into
an :class:`UnavailableMetric` carrying the reason; evaluation never raises for a metric
failure. The Java-backed metrics (METEOR, SPICE) run in a child process
(``java_scorer_worker.py``) in its own session, killed with its JVMs after ``java_timeout_s``.
SPICE needs the Stanford CoreNLP 3.6.0 jars, which pycocoevalcap downloads on first use;
when they are absent from :data:`SPICE_LIB_DIR` SPICE is reported unavailable without
being started, so no network access is ever attempted. SPIDEr is unavailable whenever
CIDEr-D or SPICE is.

Empty prediction strings are allowed; they score 0 on every metric for that clip.
"""

import json
import math
import os
import shutil
import signal
import string
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union

import pycocoevalcap.spice
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

BLEU_NAMES = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4")
METRIC_NAMES = BLEU_NAMES + ("METEOR", "ROUGE-L", "CIDEr-D", "SPICE", "SPIDEr")
SPICE_LIB_DIR = Path(pycocoevalcap.spice.__file__).parent / "lib"
SPICE_CORENLP_JARS = ("stanford-corenlp-3.6.0.jar", "stanford-corenlp-3.6.0-models.jar")
DEFAULT_JAVA_TIMEOUT_S = 900.0
_WORKER_SCRIPT = Path(__file__).with_name("java_scorer_worker.py")
_PUNCTUATION_TO_SPACE = str.maketrans({char: " " for char in string.punctuation})
_STDERR_TAIL_CHARS = 600

Captions = Dict[str, List[str]]
Key = TypeVar("Key")


@dataclass(frozen=True)
class UnavailableMetric:
    """A metric that could not be computed, and why."""

    unavailable_reason: str


MetricValue = Union[float, UnavailableMetric]


@dataclass(frozen=True)
class CaptioningResult:
    """Corpus-level captioning scores.

    Attributes:
        scores: every name of :data:`METRIC_NAMES` -> float or :class:`UnavailableMetric`.
        tokenizer: which tokenizer was used (and why, for the fallback).
        n_clips: number of evaluated clips.
    """

    scores: Dict[str, MetricValue]
    tokenizer: str
    n_clips: int


def simple_tokenize(text: str) -> str:
    """Fallback tokenizer: lowercase, every ASCII punctuation character becomes a space,
    whitespace runs collapse to one space (``"A dog's bark."`` -> ``"a dog s bark"``)."""
    return " ".join(text.lower().translate(_PUNCTUATION_TO_SPACE).split())


def _java_executable() -> Optional[str]:
    return shutil.which("java")


def _java_missing_reason() -> Optional[str]:
    return "java not found on PATH" if _java_executable() is None else None


def _ptb_tokenize(captions: Dict[Key, List[str]]) -> Dict[Key, List[str]]:
    """PTB-tokenize ``{key: [caption, ...]}``; raises if the output does not line up."""
    one_line_each = {
        key: [{"caption": " ".join(text.split())} for text in texts]
        for key, texts in captions.items()
    }
    tokenized = PTBTokenizer().tokenize(one_line_each)
    for key, texts in captions.items():
        if len(tokenized.get(key, [])) != len(texts):
            raise RuntimeError(
                f"PTBTokenizer returned {len(tokenized.get(key, []))} caption(s) for key "
                f"{key!r} instead of {len(texts)}"
            )
    return tokenized


def tokenize_captions(captions: Dict[Key, List[str]]) -> Tuple[Dict[Key, List[str]], str]:
    """Tokenize ``{key: [caption, ...]}`` with PTBTokenizer, or the fallback; also says
    which tokenizer was used."""
    reason = _java_missing_reason()
    if reason is None:
        try:
            return _ptb_tokenize(captions), "PTBTokenizer (Stanford CoreNLP 3.4.1)"
        except Exception as error:  # any tokenizer failure falls back, with its reason
            reason = f"PTBTokenizer failed: {type(error).__name__}: {error}"
    simple = {key: [simple_tokenize(text) for text in texts] for key, texts in captions.items()}
    return simple, f"simple lowercase/punctuation tokenizer ({reason})"


def _kill_process_group(process_group: int) -> None:
    try:
        os.killpg(process_group, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the group has already exited


def _stderr_tail(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return " / ".join(lines)[-_STDERR_TAIL_CHARS:] or "(no output on stderr)"


def run_java_scorer(
    metric: str, references: Captions, predictions: Captions, timeout_s: float
) -> float:
    """``METEOR`` or ``SPICE`` of tokenized captions, in a child process whose JVMs are
    killed after ``timeout_s`` (``TimeoutError``); a failing child raises ``RuntimeError``
    ending with its stderr."""
    request = json.dumps({"metric": metric, "references": references, "predictions": predictions})
    with subprocess.Popen(
        [sys.executable, str(_WORKER_SCRIPT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(request, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{metric} did not finish within {timeout_s:g} s") from None
        finally:
            _kill_process_group(process.pid)  # also ends JVMs the scorer left behind
    if process.returncode != 0:
        raise RuntimeError(
            f"{metric} scorer exited with code {process.returncode}: {_stderr_tail(stderr)}"
        )
    return float(json.loads(stdout)["score"])


def spice_unavailable_reason() -> Optional[str]:
    """Why SPICE cannot run here (no java, or CoreNLP jars missing), or None if it can."""
    if _java_missing_reason() is not None:
        return _java_missing_reason()
    missing = [jar for jar in SPICE_CORENLP_JARS if not (SPICE_LIB_DIR / jar).is_file()]
    if missing:
        return (
            f"Stanford CoreNLP jars {', '.join(missing)} are missing from pycocoevalcap's "
            "spice/lib folder; "
            "pycocoevalcap would download them from nlp.stanford.edu, which is not attempted "
            "(offline). Put the jars there to enable SPICE."
        )
    return None


def _attempt(
    names: Sequence[str], compute: Callable[[], Sequence[float]]
) -> Dict[str, MetricValue]:
    """Run ``compute`` (one value per name); on an exception or a non-finite value every name
    becomes an :class:`UnavailableMetric` with the reason."""
    try:
        values = [float(value) for value in compute()]
    except Exception as error:  # a metric failure must not abort the evaluation
        reason = f"{type(error).__name__}: {error}"
        return {name: UnavailableMetric(reason) for name in names}
    return {
        name: value if math.isfinite(value) else UnavailableMetric(f"non-finite score {value}")
        for name, value in zip(names, values)
    }


def _java_metric(
    metric: str,
    unavailable_reason: Optional[str],
    references: Captions,
    predictions: Captions,
    timeout_s: float,
) -> MetricValue:
    if unavailable_reason is not None:
        return UnavailableMetric(unavailable_reason)
    return _attempt(
        [metric], lambda: [run_java_scorer(metric, references, predictions, timeout_s)]
    )[metric]


def _spider(cider: MetricValue, spice: MetricValue) -> MetricValue:
    if isinstance(spice, UnavailableMetric):
        return UnavailableMetric(f"needs SPICE, which is unavailable: {spice.unavailable_reason}")
    if isinstance(cider, UnavailableMetric):
        return UnavailableMetric(f"needs CIDEr-D, which is unavailable: {cider.unavailable_reason}")
    return (cider + spice) / 2.0


def _check_inputs(predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]) -> None:
    if not isinstance(predictions, Mapping) or not isinstance(references, Mapping):
        raise ValueError("predictions and references must both be dicts keyed by utterance id")
    if not predictions:
        raise ValueError("predictions is empty")
    without_references = [utt for utt in predictions if utt not in references]
    if without_references:
        raise ValueError(
            f"{len(without_references)} prediction id(s) have no references, "
            f"e.g. {without_references[:5]}"
        )
    without_prediction = [utt for utt in references if utt not in predictions]
    if without_prediction:
        raise ValueError(
            f"{len(without_prediction)} reference id(s) have no prediction, "
            f"e.g. {without_prediction[:5]}"
        )
    for utt, prediction in predictions.items():
        if not isinstance(prediction, str):
            raise ValueError(f"predictions[{utt!r}] must be a str, got {type(prediction).__name__}")
    for utt, texts in references.items():
        if not isinstance(texts, (list, tuple)) or not texts:
            raise ValueError(f"references[{utt!r}] must be a non-empty list of strings")
        for position, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"references[{utt!r}][{position}] must be a non-blank string")


def evaluate_captions(
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    java_timeout_s: float = DEFAULT_JAVA_TIMEOUT_S,
) -> CaptioningResult:
    """BLEU-1..4, METEOR, ROUGE-L, CIDEr-D, SPICE and SPIDEr of ``predictions``.

    Args:
        predictions: utterance id -> predicted caption (may be ``""``).
        references: utterance id -> reference captions (>= 1 non-blank each); the ids must
            be exactly those of ``predictions``.
        java_timeout_s: limit for each Java-backed metric (METEOR, SPICE).
    """
    _check_inputs(predictions, references)
    utts = list(predictions)
    # pycocoevalcap and the JSON request need string keys; index keys also avoid id clashes.
    keys = [str(index) for index in range(len(utts))]
    untokenized: Dict[Tuple[str, str], List[str]] = {}
    for key, utt in zip(keys, utts):
        untokenized[("prediction", key)] = [predictions[utt]]
        untokenized[("reference", key)] = list(references[utt])
    tokenized, tokenizer = tokenize_captions(untokenized)
    hypotheses = {key: tokenized[("prediction", key)] for key in keys}
    gold = {key: tokenized[("reference", key)] for key in keys}

    scores: Dict[str, MetricValue] = {}
    scores.update(
        _attempt(BLEU_NAMES, lambda: Bleu(4).compute_score(gold, hypotheses, verbose=0)[0])
    )
    scores["METEOR"] = _java_metric(
        "METEOR", _java_missing_reason(), gold, hypotheses, java_timeout_s
    )
    scores.update(_attempt(["ROUGE-L"], lambda: [Rouge().compute_score(gold, hypotheses)[0]]))
    scores.update(_attempt(["CIDEr-D"], lambda: [Cider().compute_score(gold, hypotheses)[0]]))
    scores["SPICE"] = _java_metric(
        "SPICE", spice_unavailable_reason(), gold, hypotheses, java_timeout_s
    )
    scores["SPIDEr"] = _spider(scores["CIDEr-D"], scores["SPICE"])
    return CaptioningResult(scores=scores, tokenizer=tokenizer, n_clips=len(utts))
