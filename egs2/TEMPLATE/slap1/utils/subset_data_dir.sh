#!/usr/bin/env bash
# Copy part of a data directory.
#
#   utils/subset_data_dir.sh <src> <N> <dst>              N utterances spread evenly over src
#   utils/subset_data_dir.sh --first <src> <N> <dst>      the first N (in sorted id order)
#   utils/subset_data_dir.sh --last <src> <N> <dst>       the last N
#   utils/subset_data_dir.sh --utt-list <file> <src> <dst>  the utterances listed (first field)
#
# Every per-utterance table is subset (text_refs with all its lines), labels is copied and
# spk2utt rebuilt.
set -euo pipefail
me=$(basename "$0")
usage="Usage: ${me} [--first|--last] <src> <N> <dst> | ${me} --utt-list <file> <src> <dst>"
# shellcheck source-path=SCRIPTDIR source=data_dir_lib.sh
. "$(dirname "$0")/data_dir_lib.sh"

mode=spread
utt_list=
case "${1:-}" in
    --help | -h) echo "${usage}" >&2; exit 0 ;;
    --first) mode=first; shift ;;
    --last) mode=last; shift ;;
    --utt-list | --utt_list)
        mode=list
        [ $# -ge 2 ] || data_dir_fail "--utt-list needs a file"
        utt_list=$2
        shift 2
        ;;
    --*) data_dir_fail "unknown option '$1' (${usage})" ;;
esac
if [ "${mode}" = list ]; then
    [ $# -eq 2 ] || data_dir_fail "${usage}"
    src=${1%/} dst=${2%/}
    [ -f "${utt_list}" ] || data_dir_fail "no such file: ${utt_list}"
else
    [ $# -eq 3 ] || data_dir_fail "${usage}"
    src=${1%/} num=$2 dst=${3%/}
    [[ "${num}" =~ ^[1-9][0-9]*$ ]] || data_dir_fail "N must be a positive number, got '${num}'"
fi
[ -f "${src}/wav.scp" ] || data_dir_fail "${src}/wav.scp is missing"
[ "${src}" != "${dst}" ] || data_dir_fail "source and destination are the same directory"
total=$(count_utts "${src}")

mkdir -p "${dst}"
ids=${dst}/.subset_ids
case "${mode}" in
    list) awk 'NF { print $1 }' "${utt_list}" | sort -u >"${ids}" ;;
    first) cut -d ' ' -f 1 "${src}/wav.scp" | head -n "${num}" >"${ids}" ;;
    last) cut -d ' ' -f 1 "${src}/wav.scp" | tail -n "${num}" >"${ids}" ;;
    spread)
        [ "${num}" -le "${total}" ] || data_dir_fail "asked for ${num} of ${total} utterances"
        # Utterance i (0-based) is taken when floor(i * N / total) changes: N evenly spaced.
        awk -v n="${num}" -v total="${total}" '
            { k = int((NR - 1) * n / total); if (k != last) { print $1; last = k } }
            BEGIN { last = -1 }' "${src}/wav.scp" >"${ids}"
        ;;
esac
keep_ids "${ids}" "${src}" "${dst}"
rm -f "${ids}"
echo "${me}: ${src} -> ${dst}: $(count_utts "${dst}") of ${total} utterances"
