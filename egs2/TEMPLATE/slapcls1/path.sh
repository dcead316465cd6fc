# shellcheck shell=bash
# Environment of a tagging recipe (sourced by slapcls.sh from the recipe directory): the
# espnet2_slap checkout that slapcls.sh links into, its virtual environment (installed by
# tools/install.sh on first use, as egs2/TEMPLATE/slap1/path.sh does) and a C locale.

MAIN_ROOT=$(cd "$(dirname "$(readlink -f "${PWD}/slapcls.sh")")/../../.." && pwd)
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
export PYTHONUNBUFFERED=1
export LC_ALL=C
