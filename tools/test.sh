#!/usr/bin/env bash
# Run the test suite. Installs what is missing first (tools/install.sh is idempotent).
#
#   bash tools/test.sh              # everything, the slow end-to-end tests included
#   bash tools/test.sh -m "not slow"  # skip the slow end-to-end tests
#   bash tools/test.sh tests/test_slap_encoder.py -k packed   # any pytest arguments
set -euo pipefail
root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "${root_dir}/tools/install.sh"
cd "${root_dir}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
exec "${root_dir}/tools/venv/bin/python" -m pytest --durations=25 "$@"
