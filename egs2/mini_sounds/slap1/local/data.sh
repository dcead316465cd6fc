#!/usr/bin/env bash
# Builds the mini_sounds demo corpus from recordings shipped in Debian packages.
# Run from egs2/mini_sounds/slap1; writes data/{train,valid,test,zeroshot_test}, data/local
# and downloads/mini_sounds. See CORPUS.md for what is inside.
#
# Stages (each skipped when its stamp says it already ran with the same inputs):
#   1: check / install the Debian packages
#   2: decode and render every source to 16 kHz mono wavs   (data/local/inventory.tsv)
#   3: assign source recordings to train / valid / test      (data/local/sources.tsv)
#   4: compose clips and write the Kaldi-style data dirs
#   5: audit the splits and print a summary
set -euo pipefail

nj=2
num_train=2400
num_valid=150
num_test=200
seed=0
stage=1
stop_stage=5
source_root=/
synth=fluidsynth,espeak,festival,flite

usage() {
    cat <<EOF
Usage: $0 [options]
  --nj N            parallel processes (default: ${nj})
  --num_train N     composed training clips (default: ${num_train})
  --num_valid N     composed validation clips (default: ${num_valid})
  --num_test N      composed test clips (default: ${num_test})
  --seed N          seed of the split and of the composition (default: ${seed})
  --stage N         first stage to run (default: ${stage})
  --stop_stage N    last stage to run (default: ${stop_stage})
  --source_root D   folder holding the packages' usr/share (default: ${source_root});
                    the package check of stage 1 only runs for /
  --synth LIST      comma-separated synthesizers among fluidsynth,espeak,festival,flite,
                    or none (default: ${synth})
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --nj|--num_train|--num_valid|--num_test|--seed|--stage|--stop_stage|--source_root|--synth)
            [ $# -ge 2 ] || { echo "$0: option $1 needs a value" >&2; exit 1; }
            name="${1#--}"
            printf -v "${name}" '%s' "$2"
            shift 2
            ;;
        -h|--help) usage; exit 0 ;;
        *) echo "$0: unknown option $1" >&2; usage >&2; exit 1 ;;
    esac
done
for name in nj num_train num_valid num_test seed stage stop_stage; do
    [[ "${!name}" =~ ^[0-9]+$ ]] || { echo "$0: --${name} must be a non-negative integer, got '${!name}'" >&2; exit 1; }
done

# The recipe's environment (venv, PATH), as in ESPnet recipes; found beside this script, so
# that data.sh also runs from another folder.
# shellcheck source=../path.sh
. "$(dirname "$0")/../path.sh"

builder="$(cd "$(dirname "$0")" && pwd)/build_corpus.py"
data_dir=data
local_dir=data/local
audio_dir=downloads/mini_sounds
mkdir -p "${local_dir}"

command -v python >/dev/null || { echo "$0: no 'python' on PATH (source path.sh first)" >&2; exit 1; }

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') [mini_sounds] $*"; }
# stage_done STAMP KEY OUTPUT: true when STAMP records exactly KEY and OUTPUT still exists
stage_done() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ] && [ -e "$3" ]; }

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ] && [ "${source_root}" = / ]; then
    log "stage 1: checking Debian packages"
    python "${builder}" packages --install
fi

prepare_key="source_root=${source_root} synth=${synth}"
split_key="${prepare_key} seed=${seed}"
compose_key="${split_key} num_train=${num_train} num_valid=${num_valid} num_test=${num_test}"

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    if stage_done "${local_dir}/.prepare.done" "${prepare_key}" "${local_dir}/inventory.tsv"; then
        log "stage 2: sources already prepared (${prepare_key})"
    else
        log "stage 2: decoding and rendering sources"
        rm -f "${local_dir}/.prepare.done"
        python "${builder}" prepare --source_root "${source_root}" --audio_dir "${audio_dir}" \
            --local_dir "${local_dir}" --nj "${nj}" --synth "${synth}"
        echo "${prepare_key}" > "${local_dir}/.prepare.done"
    fi
fi

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    if stage_done "${local_dir}/.split.done" "${split_key}" "${local_dir}/sources.tsv"; then
        log "stage 3: splits already assigned (seed=${seed})"
    else
        log "stage 3: assigning source recordings to splits"
        rm -f "${local_dir}/.split.done"
        python "${builder}" split --local_dir "${local_dir}" --seed "${seed}"
        echo "${split_key}" > "${local_dir}/.split.done"
    fi
fi

if [ "${stage}" -le 4 ] && [ "${stop_stage}" -ge 4 ]; then
    if stage_done "${local_dir}/.compose.done" "${compose_key}" "${data_dir}/zeroshot_test/labels"; then
        log "stage 4: clips already composed"
    else
        log "stage 4: composing clips"
        rm -f "${local_dir}/.compose.done"
        python "${builder}" compose --local_dir "${local_dir}" --audio_dir "${audio_dir}" \
            --data_dir "${data_dir}" --num_train "${num_train}" --num_valid "${num_valid}" \
            --num_test "${num_test}" --seed "${seed}" --nj "${nj}"
        echo "${compose_key}" > "${local_dir}/.compose.done"
    fi
fi

if [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ]; then
    log "stage 5: summary"
    python "${builder}" summary --local_dir "${local_dir}" --data_dir "${data_dir}"
fi
log "done"
