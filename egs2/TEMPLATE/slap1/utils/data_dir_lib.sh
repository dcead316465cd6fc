# shellcheck shell=bash
# Functions shared by the data-directory helpers (fix, subset, copy, combine). Sourced, not run.
#
# A SLAP data directory holds per-utterance tables "<utt-id> <value>" (wav.scp, text, every
# utt2*, and text_refs, which may have several lines per utterance), optionally spk2utt (built
# from utt2spk) and labels (the class list of a zero-shot set, not per utterance).
export LC_ALL=C

data_dir_fail() {
    echo "$(basename "$0"): error: $*" >&2
    exit 1
}

# per_utt_files DIR: the names of DIR's per-utterance tables, one per line.
per_utt_files() {
    local file
    for file in "$1"/wav.scp "$1"/text "$1"/text_refs "$1"/utt2*; do
        [ -f "${file}" ] && basename "${file}"
    done
    true
}

# keep_ids IDS SRC DST: copy SRC's tables to DST keeping the utterances listed (first field)
# in the file IDS, sorted by id; labels is copied, spk2utt rebuilt from utt2spk.
keep_ids() {
    local ids=$1 src=$2 dst=$3 name
    mkdir -p "${dst}"
    for name in $(per_utt_files "${src}"); do
        awk 'FNR == NR { keep[$1] = 1; next } $1 in keep' "${ids}" "${src}/${name}" \
            | sort -s -k1,1 >"${dst}/${name}.tmp"
        mv "${dst}/${name}.tmp" "${dst}/${name}"
    done
    if [ -f "${src}/labels" ] && [ "${src}" != "${dst}" ]; then
        cp "${src}/labels" "${dst}/labels"
    fi
    rebuild_spk2utt "${dst}"
}

# rebuild_spk2utt DIR: DIR/spk2utt from DIR/utt2spk (removed when there is no utt2spk).
rebuild_spk2utt() {
    if [ -f "$1/utt2spk" ]; then
        "$(dirname "${BASH_SOURCE[0]}")/utt2spk_to_spk2utt.pl" "$1/utt2spk" >"$1/spk2utt"
    else
        rm -f "$1/spk2utt"
    fi
}

# count_utts DIR: number of utterances (lines of wav.scp).
count_utts() {
    if [ -f "$1/wav.scp" ]; then wc -l <"$1/wav.scp"; else echo 0; fi
}
