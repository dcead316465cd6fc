#!/usr/bin/env python3
"""Classify with a model trained by ``slap_cls_train``: ESPnet's ``cls_inference``, as is.

    python -m espnet2_slap.bin.slap_cls_inference --classification_train_config exp/x/config.yaml \\
        --classification_model_file exp/x/valid.acc.best.pth --output_all_probabilities true \\
        --data_path_and_name_and_type dump/raw/test/wav.scp,speech,sound --output_dir out

Same options and outputs (``prediction/{score,token,text}``) as ``espnet2.bin.cls_inference``;
the SLAP encoder is made visible to ESPnet's ``CLSTask`` for the run.
"""

from espnet2.bin import cls_inference

from espnet2_slap.cls.task import slap_encoders_registered


def get_parser():
    return cls_inference.get_parser()


def main(cmd=None):
    """Run ESPnet's classification inference with the SLAP encoder registered."""
    with slap_encoders_registered():
        cls_inference.main(cmd)


if __name__ == "__main__":
    main()
