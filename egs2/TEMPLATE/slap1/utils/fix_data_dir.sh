#!/usr/bin/env bash
# Make a data directory consistent: keep the utterances every per-utterance table has, sort
# every table, rebuild spk2utt. The previous files are kept in <data-dir>/.backup/.
#
#   utils/fix_data_dir.sh data/train
#
# An utterance is dropped when wav.scp, text, text_refs or any utt2* file lacks it (an empty
# caption counts as missing), so a local/data.sh may write its tables independently and call
# this at the end. Prints how many utterances were kept; exits 1 when none are left.
set -euo pipefail
help_message="Usage: $0 <data-dir>  (keeps utterances present in every table; see $0's header)"
# shellcheck source-path=SCRIPTDIR source=parse_options.sh
. "$(dirname "$0")/parse_options.sh"
# shellcheck source-path=SCRIPTDIR source=data_dir_lib.sh
. "$(dirname "$0")/data_dir_lib.sh"

[ $# -eq 1 ] || { echo "${help_message}" >&2; exit 1; }
data=${1%/}
[ -f "${data}/wav.scp" ] || data_dir_fail "${data}/wav.scp is missing"
[ -f "${data}/text" ] || data_dir_fail "${data}/text is missing"

backup=${data}/.backup
mkdir -p "${backup}"
before=$(count_utts "${data}")
ids=${backup}/ids
# Ids with a value in every table (text_refs may repeat an id; it counts once).
tables=$(per_utt_files "${data}")
# shellcheck disable=SC2086  # one path per table
for name in ${tables}; do cp "${data}/${name}" "${backup}/${name}"; done
[ -f "${data}/spk2utt" ] && cp "${data}/spk2utt" "${backup}/spk2utt"
(cd "${backup}" && awk -v n_tables="$(echo "${tables}" | wc -w)" '
    FNR == 1 { table++ }
    NF >= 2 && !(($1, table) in seen) { seen[$1, table] = 1; count[$1]++ }
    END { for (id in count) if (count[id] == n_tables) print id }
' ${tables}) | sort >"${ids}"
keep_ids "${ids}" "${data}" "${data}"
after=$(count_utts "${data}")
rm -f "${ids}"
echo "$(basename "$0"): ${data}: kept ${after} of ${before} utterances (old files in ${backup})"
[ "${after}" -gt 0 ] || data_dir_fail "${data}: no utterance is in every table ($(echo ${tables}))"
