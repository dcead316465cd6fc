# shellcheck shell=bash
# Environment of the recipe; sourced by slap.sh and run.sh from this directory.
#
# On a fresh machine the first run installs the Python environment (tools/install.sh, a few
# minutes, needs root or sudo for the Debian packages); later runs only activate it.

MAIN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
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

# Model hubs: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are left as the user set them, so a
# model-zoo tag or a hub text encoder downloads on a networked machine; export
# HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 yourself to forbid any download.
# OMP_NUM_THREADS: a value set by the user is kept. Otherwise it stays unset, so that torch
# uses every core in single-process stages; slap.sh gives parallel jobs an equal share.
export PYTHONUNBUFFERED=1
export LC_ALL=C
