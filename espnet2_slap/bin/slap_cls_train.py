#!/usr/bin/env python3
"""Train an audio classifier / tagger: ESPnet's CLS task with the SLAP encoder.

    python -m espnet2_slap.bin.slap_cls_train --config conf/tag_linear_probe.yaml \\
        --slap_init exp/slap_train_slap_tiny/packed_model.zip ...

Same options as ``espnet2.bin.cls_train`` plus the SLAP ones (``--help``).
"""

from espnet2_slap.cls.task import SLAPCLSTask


def get_parser():
    return SLAPCLSTask.get_parser()


def main(cmd=None):
    """Run the training (``cmd``: argument list, default ``sys.argv``)."""
    SLAPCLSTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
