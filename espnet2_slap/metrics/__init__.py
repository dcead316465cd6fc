"""Evaluation metrics and reports for SLAP.

* :mod:`~espnet2_slap.metrics.retrieval` -- audio-text retrieval (R@k, mAP@10, ranks, chance).
* :mod:`~espnet2_slap.metrics.zeroshot` -- zero-shot classification accuracy.
* :mod:`~espnet2_slap.metrics.captioning` -- BLEU, METEOR, ROUGE-L, CIDEr-D, SPICE, SPIDEr.
* :mod:`~espnet2_slap.metrics.report` -- JSON, Markdown tables and the rank-distribution plot.
"""
