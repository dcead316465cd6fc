"""Audio tagging with the SLAP encoder on ESPnet's classification task (``espnet2.tasks.cls``).

ESPnet's ``CLSTask`` supplies the model (``ESPnetClassificationModel``: BCE / cross-entropy,
mixup, accuracy), the linear decoder, frontend, SpecAugment and normalisation; this package
adds only what ESPnet lacks: the SLAP encoder as an encoder choice, initialisation from a
SLAP model, layer-wise learning-rate decay, packed batches with balanced sampling, random
time roll and the scoring of the recipes (mAP, accuracy, cross-validation folds).
"""
