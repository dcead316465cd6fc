"""Train a SLAP model with ESPnet's Trainer: ``python -m espnet2_slap.bin.slap_train --help``."""

import contextlib
import sys
from typing import List, Optional

# ESPnet's attention module prints a notice to stdout when flash-attn is absent; send it to
# stderr so that ``--print_config > conf.yaml`` writes valid YAML. (Only this import is
# redirected: ESPnet binds sys.stdout as a default argument when its task module loads.)
with contextlib.redirect_stdout(sys.stderr):
    import espnet.nets.pytorch_backend.transformer.attention  # noqa: F401

from espnet2_slap.tasks.slap import SLAPTask  # noqa: E402


def get_parser():
    """The ESPnet argument parser of SLAPTask."""
    return SLAPTask.get_parser()


def main(cmd: Optional[List[str]] = None):
    """Run training, or collect stats with ``--collect_stats true``."""
    SLAPTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
