#!/usr/bin/env bash
# One-command GPU check (about 3 minutes on one H100/H200); prints one Markdown table with the
# figures for docs/benchmarks.md ("GPU check").
#
#   bash tools/gpu_check.sh                   # tools/venv/bin/python if present, else python3
#   PYTHON=python3 bash tools/gpu_check.sh    # any interpreter: a bare CUDA machine
#
# Needs only torch and numpy (plus ESPnet for the whole-model part, which says so and is
# skipped where ESPnet does not import): the repository goes on PYTHONPATH, nothing is
# installed, nothing is downloaded, and the test suite (tests/conftest.py) is not imported.
# What it runs is tools/gpu_check.py (its docstring lists the parts):
#   attention backend equivalence (sdpa vs torch_varlen vs flash_attn, bf16 vs the fp32 sdpa
#   reference, forward and backward, local and global layers, packed 1-30 s clips), the whole
#   encoder under bf16 per backend, torch.compile vs eager and its compile count, packed vs
#   padded training step, the paper-size encoder's bf16 step at 32768 tokens (clips/s,
#   tokens/s, peak memory, TFLOP/s, MFU against the measured bf16 matmul peak) eager / with
#   activation checkpointing / compiled, and 2:1 local/global vs all-global at 30 s and 120 s.
#
# Without CUDA it says so, runs the same code in its --quick mode on the CPU (tiny encoder,
# sdpa only) and exits 0 when every CPU row is within bounds. Exit status 1 when a row is out
# of bounds; arguments are passed on to tools/gpu_check.py (e.g. --device cpu --quick).
set -euo pipefail
root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${PYTHON:-}" ]; then
    if [ -x "${root_dir}/tools/venv/bin/python" ]; then
        PYTHON=${root_dir}/tools/venv/bin/python
    else
        PYTHON=python3
    fi
fi
cd "${root_dir}"
export PYTHONPATH="${root_dir}${PYTHONPATH:+:${PYTHONPATH}}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
"${PYTHON}" -c 'import torch, numpy' || {
    echo "gpu_check: ${PYTHON} cannot import torch and numpy; set PYTHON=<an interpreter with both>" >&2
    exit 2
}
if "${PYTHON}" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_check: CUDA: $("${PYTHON}" -c 'import torch; print(torch.cuda.get_device_name(0))')"
else
    echo "gpu_check: no CUDA device: the CPU-safe parts only, in --quick sizes"
fi
exec "${PYTHON}" tools/gpu_check.py "$@"
