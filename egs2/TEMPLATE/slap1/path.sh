# shellcheck shell=bash
# Environment of every recipe (egs2/<corpus>/{slap1,cls1}), sourced from the recipe directory
# by slap.sh, slapcls.sh, run.sh and local/data.sh. Recipes link to this file; one with
# settings of its own sources it from a small path.sh (egs2/mini_sounds/slap1/path.sh).
#
# MAIN_ROOT is the espnet2_slap checkout holding this file, found from its own location
# (whichever link or path.sh sourced it). On a fresh checkout the first run installs the
# Python environment (tools/install.sh, a few minutes, needs root or sudo for the Debian
# packages); later runs only activate it.
#
# Model hubs: nothing here changes HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE, so a networked
# machine downloads pretrained text encoders (e.g. ModernBERT) as usual; export
# HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 yourself to forbid any download.

MAIN_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../.." && pwd)
export MAIN_ROOT

slap_venv=${MAIN_ROOT}/tools/venv
if [ ! -x "${slap_venv}/bin/python" ] || [ ! -f "${slap_venv}/.slap-install-stamp" ]; then
    echo "path.sh: no complete environment in ${slap_venv}; running tools/install.sh" >&2
    bash "${MAIN_ROOT}/tools/install.sh" || {
        echo "path.sh: error: tools/install.sh failed; see its messages above" >&2
        exit 1
    }
fi

export VIRTUAL_ENV=${slap_venv}
export PATH=${PWD}/utils:${slap_venv}/bin:${PATH}
unset slap_venv

# OMP_NUM_THREADS: a value set by the user is kept. Otherwise it stays unset, so that torch
# uses every core in single-process stages; slap.sh gives parallel jobs an equal share.
export PYTHONUNBUFFERED=1
export LC_ALL=C
