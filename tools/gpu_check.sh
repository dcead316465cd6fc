#!/usr/bin/env bash
# One-command GPU check (about 3-5 minutes on one GPU); prints the figures for docs/benchmarks.md.
#
#   bash tools/gpu_check.sh            # uses tools/venv; PYTHON=... to use another interpreter
#
# 1. attention backend equivalence: sdpa vs torch_varlen vs flash_attn, forward and backward,
#    local and global layers, clips of 1-30 s (tests/test_attention_backends.py, the gpu tests)
# 2. packing benchmark on the GPU (tools/bench/bench_packing.py --device cuda)
# 3. the paper-size encoder's bf16 training step: throughput and model FLOP utilisation
#    (tools/bench/bench_encoder_step.py), without and with activation checkpointing
#
# Without CUDA it says so, runs the CPU-safe parts (the backend tests' CPU cases, the packing
# benchmark's --quick mode and the encoder-step code path on a small model) and exits 0.
set -euo pipefail
root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-${root_dir}/tools/venv/bin/python}
cd "${root_dir}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1

section() { echo; echo "=== gpu_check: $* ==="; }

if "${python}" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    cuda=true
    "${python}" -c 'import torch; print("gpu_check:", torch.cuda.get_device_name(0), "torch", torch.__version__)'
    "${python}" -c 'import flash_attn; print("gpu_check: flash_attn", flash_attn.__version__)' \
        2>/dev/null || echo "gpu_check: flash-attn is not installed: its tests are skipped (pip install 'espnet2_slap[gpu]')"
else
    cuda=false
    echo "gpu_check: no CUDA device: running the CPU-safe parts only; the GPU figures"
    echo "gpu_check: (backend equivalence on CUDA, packing on CUDA, encoder MFU) need a GPU"
fi

section "1/3 attention backends (forward + backward, local and global, 1-30 s clips)"
"${python}" -m pytest -q -rs tests/test_attention_backends.py tests/test_precision.py

section "2/3 packing benchmark"
if ${cuda}; then
    "${python}" tools/bench/bench_packing.py --device cuda
else
    echo "no CUDA: the CPU --quick mode instead"
    "${python}" tools/bench/bench_packing.py --device cpu --quick
fi

section "3/3 paper-size encoder training step, bf16"
if ${cuda}; then
    "${python}" tools/bench/bench_encoder_step.py --device cuda
    "${python}" tools/bench/bench_encoder_step.py --device cuda --activation_checkpointing
else
    echo "no CUDA: throughput and MFU need a GPU; checking the code path on a small CPU model"
    "${python}" tools/bench/bench_encoder_step.py --device cpu --quick
fi
echo
echo "gpu_check: done (cuda=${cuda})"
