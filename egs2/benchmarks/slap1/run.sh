#!/usr/bin/env bash
# The SLAP paper's benchmarks for one model, evaluation only: retrieval on AudioCaps and Clotho
# (Table 1), zero-shot classification on ESC-50, UrbanSound8K, CREMA-D, RAVDESS and GTZAN
# (Table 2), captioning on AudioCaps and Clotho (Table 3) and speech-content retrieval on
# LibriSpeech, in one RESULTS.md with the paper's figures beside.
#
#   ./run.sh --model ../../mini_sounds/slap1/exp/slap_train_slap_tiny/slap_train_slap_tiny_valid.loss.best.zip
#   ESC50=/data/ESC-50-master ./run.sh --model exp_dir_or_zip_or_tag --ngpu 1
#
# Corpora come from db.sh (environment values win); a corpus whose variable is empty is
# skipped with one line. Results: <expdir>/<model hash>/RESULTS.md. Re-running after adding
# a corpus scores only the new sets (the rest is cached per set, keyed by the model's hash).
set -euo pipefail

log() {
    echo "$(date '+%Y-%m-%dT%H:%M:%S') [run.sh] $*"
}

model=                              # experiment dir, packed .zip or model-zoo tag (required)
inference_model=valid.loss.best.pth # weights file inside an experiment dir
stage=1                             # 1: prepare the corpora, 2: embed, score, write RESULTS.md
stop_stage=2
corpora="audiocaps clotho esc50 us8k cremad ravdess gtzan librispeech"
prompts=conf/prompts.yaml           # zero-shot prompt templates per set
prompt_ensemble=true                # also score the prompt ensembles
caption=true                        # generate and score captions (AudioCaps, Clotho)
beam_size=1                         # caption beam size
batch_tokens=32768                  # audio tokens per encoder call
ngpu=0                              # 0: CPU, 1: GPU
datadir=data
expdir=exp/benchmarks

help_message="Usage: $0 --model <exp dir | packed .zip | model-zoo tag> [options]
  --model M                  the model to benchmark (required)
  --inference_model F        weights file inside an experiment dir [${inference_model}]
  --stage N, --stop_stage N  1: prepare corpora, 2: score and write RESULTS.md [${stage}, ${stop_stage}]
  --corpora NAMES            corpora to use, space-separated [${corpora}]
  --prompts FILE             zero-shot prompt templates per set [${prompts}]
  --prompt_ensemble BOOL     also score the prompt ensembles [${prompt_ensemble}]
  --caption BOOL             generate and score captions on AudioCaps and Clotho [${caption}]
  --beam_size N              caption beam size [${beam_size}]
  --batch_tokens N           audio tokens per encoder call [${batch_tokens}]
  --ngpu N                   0: CPU, 1: GPU [${ngpu}]
  --datadir DIR              prepared sets [${datadir}]
  --expdir DIR               results [${expdir}]
Corpus locations: db.sh - ESC50, US8K, GTZAN, CREMAD, RAVDESS, LIBRISPEECH, CLOTHO, AUDIOCAPS."

for arg in "$@"; do
    case "${arg}" in
        -h | --help) echo "${help_message}"; exit 0 ;;
    esac
done
command_line="$0 $*"
while [ $# -gt 0 ]; do
    case "$1" in
        --model|--inference_model|--stage|--stop_stage|--corpora|--prompts|--prompt_ensemble|--caption|--beam_size|--batch_tokens|--ngpu|--datadir|--expdir)
            [ $# -ge 2 ] || { echo "run.sh: error: option $1 needs a value" >&2; exit 1; }
            printf -v "${1#--}" '%s' "$2"; shift 2 ;;
        *) echo "run.sh: error: unknown option $1" >&2; echo "${help_message}" >&2; exit 1 ;;
    esac
done
[ -n "${model}" ] || { echo "run.sh: error: give --model (experiment dir, packed .zip or model-zoo tag)" >&2; exit 1; }
for flag in prompt_ensemble caption; do
    case "${!flag}" in true|false) ;; *) echo "run.sh: error: --${flag} takes true or false" >&2; exit 1 ;; esac
done

# shellcheck source=/dev/null  # (activates the venv)
. ./path.sh

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log "stage 1: preparing the corpora whose db.sh variable is set"
    local/data.sh --datadir "${datadir}" --corpora "${corpora}"
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log "stage 2: embedding, scoring, RESULTS.md"
    # shellcheck disable=SC2086  # corpora are words
    python local/benchmarks.py --model "${model}" --inference_model "${inference_model}" \
        --data_dir "${datadir}" --exp_dir "${expdir}" --prompts "${prompts}" --corpora ${corpora} \
        --prompt_ensemble "${prompt_ensemble}" --caption "${caption}" --beam_size "${beam_size}" \
        --batch_tokens "${batch_tokens}" --ngpu "${ngpu}" --command "${command_line}"
fi
log "finished"
