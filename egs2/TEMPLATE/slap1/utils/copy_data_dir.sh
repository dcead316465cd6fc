#!/usr/bin/env bash
# Copy a data directory, optionally renaming utterances and speakers.
#
#   utils/copy_data_dir.sh [--utt-prefix P] [--utt-suffix S] [--spk-prefix P] [--spk-suffix S] \
#       <src> <dst>
#
# The prefixes and suffixes are added to every utterance id (in all per-utterance tables) and
# every speaker (the values of utt2spk); tables are re-sorted and spk2utt rebuilt, labels is
# copied. Typical use: give two corpora distinct ids before utils/combine_data.sh.
set -euo pipefail
utt_prefix=
utt_suffix=
spk_prefix=
spk_suffix=
help_message="Usage: $0 [--utt-prefix P] [--utt-suffix S] [--spk-prefix P] [--spk-suffix S]
       <src> <dst>"
# shellcheck source-path=SCRIPTDIR source=parse_options.sh
. "$(dirname "$0")/parse_options.sh"
# shellcheck source-path=SCRIPTDIR source=data_dir_lib.sh
. "$(dirname "$0")/data_dir_lib.sh"

[ $# -eq 2 ] || { echo "${help_message}" >&2; exit 1; }
src=${1%/} dst=${2%/}
[ -f "${src}/wav.scp" ] || data_dir_fail "${src}/wav.scp is missing"
[ "${src}" != "${dst}" ] || data_dir_fail "source and destination are the same directory"
mkdir -p "${dst}"
for name in $(per_utt_files "${src}"); do
    awk -v up="${utt_prefix}" -v us="${utt_suffix}" -v sp="${spk_prefix}" -v ss="${spk_suffix}" \
        -v is_utt2spk="$([ "${name}" = utt2spk ] && echo 1 || echo 0)" '
        NF == 0 { next }
        {
            id = $1
            rest = substr($0, length($1) + 1)
            if (is_utt2spk) { sub(/^[ \t]+/, "", rest); rest = " " sp rest ss }
            print up id us rest
        }' "${src}/${name}" | sort -s -k1,1 >"${dst}/${name}"
done
[ -f "${src}/labels" ] && cp "${src}/labels" "${dst}/labels"
rebuild_spk2utt "${dst}"
echo "$(basename "$0"): ${src} -> ${dst}: $(count_utts "${dst}") utterances"
