"""Child-process entry point that runs one Java-backed pycocoevalcap scorer.

``captioning.py`` starts this file as a script (``python java_scorer_worker.py``) in a new
session, sends a JSON request on stdin and kills the whole session on timeout, so a stuck JVM
cannot block an evaluation. Request::

    {"metric": "METEOR" | "SPICE",
     "references": {clip_id: [tokenized reference, ...]},
     "predictions": {clip_id: [tokenized prediction]}}

The only thing written to stdout is ``{"score": <corpus score>}``; anything the scorer or its
JVM prints is redirected to stderr. The script imports nothing from espnet2_slap, so it runs
whatever way the package is installed.
"""

import json
import os
import sys


def _scorer(metric: str):
    if metric == "METEOR":
        from pycocoevalcap.meteor.meteor import Meteor

        return Meteor()
    if metric == "SPICE":
        from pycocoevalcap.spice.spice import Spice

        return Spice()
    raise ValueError(f"unknown Java-backed metric {metric!r}; expected METEOR or SPICE")


def main() -> None:
    result_stream = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    request = json.load(sys.stdin)
    score, _ = _scorer(request["metric"]).compute_score(
        request["references"], request["predictions"]
    )
    json.dump({"score": float(score)}, result_stream)
    result_stream.close()


if __name__ == "__main__":
    main()
