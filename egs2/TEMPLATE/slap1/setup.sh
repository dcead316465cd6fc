#!/usr/bin/env bash
# Create a new SLAP recipe directory, as ESPnet's egs2/TEMPLATE/*/setup.sh does.
#
#   egs2/TEMPLATE/slap1/setup.sh egs2/mycorpus/slap1
#
# The new directory gets links to this template's slap.sh, utils/ and scripts/ (relative
# when it is inside this checkout, so the checkout can move), copies of path.sh, cmd.sh and
# db.sh, a run.sh calling slap.sh, an example local/data.sh for a CSV caption corpus and the
# tiny and paper-size training configs in conf/. Then: set your corpus in db.sh, adapt
# local/data.sh (see README.md, "Your own corpus") and run ./run.sh from the new directory.
set -euo pipefail
help_message="Usage: $0 <new recipe dir>, e.g. $0 egs2/mycorpus/slap1"
if [ $# -ne 1 ] || [ "$1" = --help ] || [ "$1" = -h ]; then
    echo "${help_message}" >&2
    [ $# -eq 1 ] && exit 0
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
cp "${template}/path.sh" "${template}/cmd.sh" "${template}/db.sh" "${target}/"
cp "${template}/recipe/run.sh" "${target}/run.sh"
cp "${template}/recipe/local/"* "${target}/local/"
cp "${main_root}/conf/slap_tiny.yaml" "${target}/conf/train_slap_tiny.yaml"
cp "${main_root}/conf/slap_paper.yaml" "${target}/conf/train_slap_paper.yaml"
echo "$0: created ${target}:"
(cd "${target}" && find . -maxdepth 2 \( -type f -o -type l \) | sort | sed 's/^/  /')
echo "Next: set MYCORPUS in ${target}/db.sh, adapt local/data.sh, then cd ${target} && ./run.sh"
