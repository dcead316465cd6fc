#!/usr/bin/env bash
# Check a Kaldi-style data directory of the SLAP recipes; exit 1 at the first problem.
#
#   utils/validate_data_dir.sh <data-dir>
#
# Rules (utterance ids compared byte-wise, as with LC_ALL=C sort):
#   wav.scp and text exist; each has one "<utt-id> <value>" line per utterance, sorted by id,
#   ids unique, and the same ids in both; no caption is empty.
#   Every utt2* file (utt2spk, utt2dur, utt2num_samples, utt2label, ...): the same form and ids.
#   spk2utt, when present: sorted, and every utterance it lists belongs to that speaker in utt2spk.
#   text_refs, when present: sorted "<utt-id> <caption>" lines, several per utterance allowed,
#   every utterance of wav.scp has at least one reference and every id is in wav.scp.
#   labels, when present: one non-empty, unique label per line; each utt2label label is in it.
set -euo pipefail
export LC_ALL=C

help_message="Usage: $0 <data-dir>  (checks a Kaldi-style data directory; see the header of $0)"
# shellcheck source-path=SCRIPTDIR source=parse_options.sh
. "$(dirname "$0")/parse_options.sh"

if [ $# -ne 1 ]; then
    echo "${help_message}" >&2
    exit 1
fi
data=${1%/}
me=$(basename "$0")

fail() {
    echo "${me}: error: $*" >&2
    exit 1
}

[ -d "${data}" ] || fail "no such directory: ${data}"

# check_table FILE CONTENT MULTI: "<id> <value>" lines sorted by id; ids unique unless MULTI=1.
check_table() {
    local file=$1 content=$2 multi=$3
    [ -s "${file}" ] || fail "${file} is missing or empty"
    awk -v file="${file}" -v content="${content}" -v multi="${multi}" '
        NF < 2 {
            printf "%s line %d: no %s after utterance id \"%s\"\n", file, NR, content, $1
            exit 1
        }
        NR > 1 && (($1 "") < (prev "") || (!multi && ($1 "") == (prev ""))) {
            what = (($1 "") == (prev "")) ? "duplicated utterance id" : "not sorted: id"
            printf "%s line %d: %s \"%s\" after \"%s\" (sort it with LC_ALL=C sort)\n", \
                file, NR, what, $1, prev
            exit 1
        }
        { prev = $1 }
    ' "${file}" >&2 || fail "${file} is malformed (see above)"
}

# check_same_ids FILE: FILE has an entry for every utterance of wav.scp and no other.
check_same_ids() {
    local file=$1
    awk -v file="${file}" -v scp="${data}/wav.scp" '
        FNR == NR { in_scp[$1] = 1; next }
        !($1 in in_scp) {
            printf "%s line %d: utterance \"%s\" is not in %s\n", file, FNR, $1, scp
            failed = 1
            exit 1
        }
        { seen[$1] = 1 }
        END {
            if (failed) exit 1
            for (utt in in_scp) if (!(utt in seen)) {
                printf "%s: no entry for utterance \"%s\" of %s\n", file, utt, scp
                exit 1
            }
        }
    ' "${data}/wav.scp" "${file}" >&2 || fail "${file} does not match wav.scp (see above)"
}

check_table "${data}/wav.scp" "audio path" 0
check_table "${data}/text" "caption" 0
check_same_ids "${data}/text"

for file in "${data}"/utt2*; do
    [ -e "${file}" ] || continue
    check_table "${file}" "value" 0
    check_same_ids "${file}"
done

if [ -e "${data}/spk2utt" ]; then
    [ -e "${data}/utt2spk" ] || fail "${data}/spk2utt exists without utt2spk"
    check_table "${data}/spk2utt" "utterance list" 0
    awk -v file="${data}/spk2utt" -v utt2spk="${data}/utt2spk" '
        FNR == NR { speaker[$1] = $2; next }
        {
            for (i = 2; i <= NF; i++) if (speaker[$i] != $1) {
                printf "%s line %d: utterance \"%s\" is not of speaker \"%s\" in %s\n", \
                    file, FNR, $i, $1, utt2spk
                exit 1
            }
        }
    ' "${data}/utt2spk" "${data}/spk2utt" >&2 || fail "${data}/spk2utt does not match utt2spk"
fi

if [ -e "${data}/text_refs" ]; then
    check_table "${data}/text_refs" "caption" 1
    check_same_ids "${data}/text_refs"
fi

if [ -e "${data}/labels" ]; then
    [ -s "${data}/labels" ] || fail "${data}/labels is empty"
    awk -v file="${data}/labels" '
        /^[ \t]*$/ { printf "%s line %d: empty label\n", file, NR; exit 1 }
        $0 in seen { printf "%s line %d: duplicated label \"%s\"\n", file, NR, $0; exit 1 }
        { seen[$0] = 1 }
    ' "${data}/labels" >&2 || fail "${data}/labels is malformed (see above)"
    if [ -e "${data}/utt2label" ]; then
        awk -v file="${data}/utt2label" -v labels="${data}/labels" '
            FNR == NR { known[$0] = 1; next }
            {
                label = $0
                sub(/^[^ \t]+[ \t]+/, "", label)
                if (!(label in known)) {
                    printf "%s line %d: label \"%s\" is not in %s\n", file, FNR, label, labels
                    exit 1
                }
            }
        ' "${data}/labels" "${data}/utt2label" >&2 || fail "${data}/utt2label does not match labels"
    fi
elif [ -e "${data}/utt2label" ]; then
    fail "${data}/utt2label exists without a labels file"
fi

echo "${me}: ${data}: OK ($(wc -l <"${data}/wav.scp") utterances)"
