#!/usr/bin/env bash
# Combine several data directories into one.
#
#   utils/combine_data.sh <dst> <src1> <src2> ...
#
# A per-utterance table (wav.scp, text, text_refs, utt2*) is written when every source has
# it; one that only some sources have is left out, with a warning. Utterance ids must be
# distinct across the sources (utils/copy_data_dir.sh --utt-prefix makes them so). The
# labels files of zero-shot sets are merged (sorted, each label once); spk2utt is rebuilt.
set -euo pipefail
help_message="Usage: $0 <dst> <src1> <src2> ...  (see $0's header)"
# shellcheck source-path=SCRIPTDIR source=parse_options.sh
. "$(dirname "$0")/parse_options.sh"
# shellcheck source-path=SCRIPTDIR source=data_dir_lib.sh
. "$(dirname "$0")/data_dir_lib.sh"

[ $# -ge 2 ] || { echo "${help_message}" >&2; exit 1; }
dst=${1%/}
shift
srcs=()
for src in "$@"; do
    src=${src%/}
    [ -f "${src}/wav.scp" ] || data_dir_fail "${src}/wav.scp is missing"
    [ "${src}" != "${dst}" ] || data_dir_fail "the destination ${dst} is also a source"
    srcs+=("${src}")
done

duplicates=$(for src in "${srcs[@]}"; do cut -d ' ' -f 1 "${src}/wav.scp"; done | sort | uniq -d)
[ -z "${duplicates}" ] || data_dir_fail "utterance ids in several sources, e.g." \
    "'$(echo "${duplicates}" | head -n 1)' (rename with utils/copy_data_dir.sh --utt-prefix)"

mkdir -p "${dst}"
tables=$(for src in "${srcs[@]}"; do per_utt_files "${src}"; done | sort | uniq -c)
while read -r count name; do
    if [ "${count}" -eq "${#srcs[@]}" ]; then
        for src in "${srcs[@]}"; do cat "${src}/${name}"; done | sort -s -k1,1 >"${dst}/${name}"
    else
        echo "$(basename "$0"): warning: only ${count} of ${#srcs[@]} sources have ${name};" \
            "not combined" >&2
        rm -f "${dst}/${name}"
    fi
done <<<"${tables}"
labels=()
for src in "${srcs[@]}"; do [ -f "${src}/labels" ] && labels+=("${src}/labels"); done
if [ "${#labels[@]}" -gt 0 ]; then
    sort -u "${labels[@]}" >"${dst}/labels"
fi
rebuild_spk2utt "${dst}"
echo "$(basename "$0"): ${#srcs[@]} directories -> ${dst}: $(count_utts "${dst}") utterances"
