#!/usr/bin/env bash
# Prepares every benchmark corpus whose db.sh variable is set; skips the others, one line each.
# Run from egs2/benchmarks/slap1 (path.sh sourced); writes data/<corpus>/<set>/ and
# data/<corpus>/status ("prepared from VAR=..." or "skipped: why"), which stage 2 reads.
#
#   local/data.sh [--datadir data] [--corpora "esc50 us8k ..."]
set -euo pipefail

datadir=data
corpora="audiocaps clotho esc50 us8k cremad ravdess gtzan librispeech"

usage() {
    cat <<USAGE
Usage: $0 [--datadir DIR] [--corpora "NAMES"]
  --datadir DIR     where the data dirs go (default: ${datadir})
  --corpora NAMES   space-separated corpora to prepare (default: ${corpora})
USAGE
}
while [ $# -gt 0 ]; do
    case "$1" in
        --datadir|--corpora)
            [ $# -ge 2 ] || { echo "$0: option $1 needs a value" >&2; exit 1; }
            printf -v "${1#--}" '%s' "$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "$0: unknown option $1" >&2; usage >&2; exit 1 ;;
    esac
done

# shellcheck source=/dev/null  # the recipe's environment (venv, PATH), as in ESPnet recipes
. ./path.sh
# shellcheck source=/dev/null
. ./db.sh

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') [data.sh] $*"; }

# corpus -> "VARIABLE module options"
declare -A how=(
    [audiocaps]="AUDIOCAPS audiocaps --splits test"
    [clotho]="CLOTHO clotho --splits evaluation"
    [esc50]="ESC50 esc50"
    [us8k]="US8K urbansound8k"
    [cremad]="CREMAD cremad"
    [ravdess]="RAVDESS ravdess"
    [gtzan]="GTZAN gtzan"
    [librispeech]="LIBRISPEECH librispeech --subsets test-clean test-other"
)

for corpus in ${corpora}; do
    [ -n "${how[${corpus}]:-}" ] || { echo "$0: unknown corpus '${corpus}' (known: ${!how[*]})" >&2; exit 1; }
    read -r variable module options <<< "${how[${corpus}]}"
    root=${!variable:-}
    out=${datadir}/${corpus}
    mkdir -p "${out}"
    if [ -z "${root}" ]; then
        echo "skipped: ${variable} is not set (set it in db.sh or the environment)" > "${out}/status"
        log "skip ${corpus}: ${variable} is not set (set it in db.sh or the environment)"
        continue
    fi
    prepared="prepared from ${variable}=${root}"
    if [ "$(cat "${out}/status" 2>/dev/null)" = "${prepared}" ]; then
        if change=$(python -m espnet2_slap.corpora.sources check "${out}" 2>&1); then
            log "${corpus}: already ${prepared}"
            continue
        fi
        change=${change##*changed since it was prepared: }
        log "${corpus}: ${variable} changed since ${corpus} was prepared (${change}):" \
            "preparing it again"
    fi
    log "${corpus}: preparing from ${variable}=${root}"
    # shellcheck disable=SC2086  # options are words
    if python -m "espnet2_slap.corpora.${module}" --root "${root}" --out_dir "${out}" ${options} \
            2> "${out}/prepare.log"; then
        cat "${out}/prepare.log" >&2
        echo "${prepared}" > "${out}/status"
    else
        reason=$(grep -m1 '^error:' "${out}/prepare.log" || tail -n1 "${out}/prepare.log")
        echo "skipped: ${reason}" > "${out}/status"
        log "skip ${corpus}: ${reason} (full message: ${out}/prepare.log)"
    fi
done
log "done"
