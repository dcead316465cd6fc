#!/usr/bin/env bash
# Create a new SLAP recipe directory, as ESPnet's egs2/TEMPLATE/*/setup.sh does.
#
#   egs2/TEMPLATE/slap1/setup.sh egs2/mycorpus/slap1
#
# The new directory gets links to this template's slap.sh, utils/ and scripts/ (relative
# when it is inside this checkout, so the checkout can move), a path.sh that sources this
# template's (add the recipe's own settings there), copies of cmd.sh and db.sh, a run.sh
# calling slap.sh, an example local/data.sh for a CSV caption corpus and the tiny and
# paper-size training configs in conf/. Then: set your corpus in db.sh, adapt
# local/data.sh (see README.md, "Your own corpus") and run ./run.sh from the new directory.
set -euo pipefail
help_message="Usage: $0 <new recipe dir>, e.g. $0 egs2/mycorpus/slap1"
for arg in "$@"; do
    case "${arg}" in
        -h | --help) echo "${help_message}"; exit 0 ;;
    esac
done
if [ $# -ne 1 ]; then
    echo "${help_message}" >&2
    exit 1
fi
target=${1%/}
template=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
main_root=$(cd "${template}/../../.." && pwd)
if [ -e "${target}" ]; then
    echo "$0: error: ${target} already exists; choose a new directory" >&2
    exit 1
fi

mkdir -p "${target}/local" "${target}/conf"
target=$(cd "${target}" && pwd)
# Relative links inside the checkout (egs2/<corpus>/slap1 -> ../../TEMPLATE/slap1/...).
link_base=$(realpath --relative-to="${target}" "${template}")
case "${link_base}" in
    ../*) [ "${target#"${main_root}"/}" != "${target}" ] || link_base=${template} ;;
esac
for name in slap.sh utils scripts; do
    ln -s "${link_base}/${name}" "${target}/${name}"
done
# path.sh: the template's, found relative to the recipe's own location (or by its absolute
# path when the recipe is outside this checkout).
# shellcheck disable=SC2016  # expanded when path.sh is sourced
recipe_dir='$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")'
case "${link_base}" in
    /*) template_path_sh="\"${link_base}/path.sh\"" ;;
    *) template_path_sh="\"${recipe_dir}/${link_base}/path.sh\"" ;;
esac
cat >"${target}/path.sh" <<PATH_SH
# shellcheck shell=bash
# The recipe's environment: the template's path.sh (venv, MAIN_ROOT, PATH, LC_ALL), then this
# recipe's own settings, if any, below.
# shellcheck source=/dev/null
. ${template_path_sh}
PATH_SH
cp "${template}/cmd.sh" "${template}/db.sh" "${target}/"
cp "${template}/recipe/run.sh" "${target}/run.sh"
cp "${template}/recipe/local/"* "${target}/local/"
cp "${main_root}/conf/slap_tiny.yaml" "${target}/conf/train_slap_tiny.yaml"
cp "${main_root}/conf/slap_paper.yaml" "${target}/conf/train_slap_paper.yaml"
echo "$0: created ${target}:"
(cd "${target}" && find . -maxdepth 2 \( -type f -o -type l \) | sort | sed 's/^/  /')
echo "Next: set MYCORPUS in ${target}/db.sh, adapt local/data.sh, then cd ${target} && ./run.sh"
