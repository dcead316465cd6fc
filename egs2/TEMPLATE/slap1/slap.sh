#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2154  # train_cmd, cuda_cmd and decode_cmd come from the recipe's cmd.sh
# SLAP recipe template: data preparation, training, evaluation, packing and upload in stages.
#
# Run it from a recipe directory (egs2/<corpus>/slap1) that provides local/data.sh, conf/,
# path.sh and cmd.sh, and links utils/, scripts/ and slap.sh to egs2/TEMPLATE/slap1/.
# See egs2/TEMPLATE/slap1/README.md for the stages and what each one writes.
set -euo pipefail

log() {
    echo "$(date '+%Y-%m-%dT%H:%M:%S') [slap.sh] $*"
}

fail() {
    echo "$(date '+%Y-%m-%dT%H:%M:%S') [slap.sh] error: $*" >&2
    exit 1
}

min() {
    local smallest=$1 value
    shift
    for value in "$@"; do
        [ "${value}" -lt "${smallest}" ] && smallest=${value}
    done
    echo "${smallest}"
}

SECONDS=0

# General
stage=1                # first stage to run
stop_stage=10000       # last stage to run
skip_data_prep=false   # skip stages 1-4
skip_train=false       # skip stages 5-6
skip_eval=false        # skip stages 7-8
skip_packing=false     # skip stage 9
skip_upload=true       # skip stage 10
ngpu=0                 # GPUs for training (0: CPU)
nj=4                   # parallel jobs for data preparation and statistics
inference_nj=4         # parallel jobs for inference
gpu_inference=false    # run inference on a GPU
dumpdir=dump           # formatted data
expdir=exp             # experiments
python=python          # the interpreter (path.sh puts the recipe's venv first on PATH)

# Data preparation
local_data_opts=       # options of local/data.sh
fs=16k                 # sample rate of the formatted audio
min_wav_duration=0.5   # shorter training/validation utterances are dropped (seconds)
max_wav_duration=30    # longer training/validation utterances are dropped (seconds)

# Caption tokens
nbpe=500               # sentencepiece vocabulary size (an upper bound on small corpora)
bpemode=unigram        # sentencepiece model type: unigram, bpe, char or word

# Training
train_config=          # training YAML
train_args=            # extra options of slap_train (override the config)
tag=                   # experiment name (default: from the config file name and train_args)
stats_tag=             # statistics directory name (default: raw_<bpemode><nbpe>)
feats_normalize=global_mvn  # global_mvn: pass the collected statistics to the model

# Inference and scoring
inference_config=      # inference YAML
inference_args=        # extra options of slap_inference
inference_tag=         # inference directory name (default: from config, model and args)
inference_model=valid.loss.best.pth  # model file in the experiment directory

# Data sets
train_set=             # training set name (data/<name>)
valid_set=             # validation set name
test_sets=             # retrieval/captioning test set names (space-separated)
zeroshot_sets=         # zero-shot classification set names (space-separated)

# Upload
hf_repo=               # Hugging Face repository, <user>/<name>

help_message=$(cat <<EOF
Usage: $0 --train_set <name> --valid_set <name> --test_sets "<names>" --train_config <yaml> [options]

Stages:
   1  data preparation          local/data.sh -> data/<set>/
   2  format audio              ${fs} mono WAV -> ${dumpdir}/raw/org/<train/valid>/, ${dumpdir}/raw/<test sets>/
   3  filter and validate       duration filter -> ${dumpdir}/raw/<train/valid>/
   4  token list                sentencepiece -> data/token_list/bpe_<bpemode><nbpe>/
   5  collect statistics        ${expdir}/slap_stats_<stats_tag>/
   6  training                  ${expdir}/slap_<tag>/
   7  inference                 ${expdir}/slap_<tag>/inference_<inference_tag>/<set>/
   8  scoring                   .../<set>/score/results.{json,md}, ${expdir}/slap_<tag>/RESULTS.md
   9  packing                   ${expdir}/slap_<tag>/packed_model.zip
  10  upload                    Hugging Face Hub (only with --skip_upload false)

Options (--foo_bar and --foo-bar are the same; defaults in brackets):
  General
    --stage N               first stage to run [${stage}]
    --stop_stage N          last stage to run [${stop_stage}]
    --skip_data_prep BOOL   skip stages 1-4 [${skip_data_prep}]
    --skip_train BOOL       skip stages 5-6 [${skip_train}]
    --skip_eval BOOL        skip stages 7-8 [${skip_eval}]
    --skip_packing BOOL     skip stage 9 [${skip_packing}]
    --skip_upload BOOL      skip stage 10 [${skip_upload}]
    --ngpu N                GPUs for training, 0 for CPU [${ngpu}]
    --nj N                  parallel jobs for stages 2 and 5 [${nj}]
    --inference_nj N        parallel jobs for stage 7 [${inference_nj}]
    --gpu_inference BOOL    run inference on a GPU [${gpu_inference}]
    --dumpdir DIR           formatted data [${dumpdir}]
    --expdir DIR            experiments [${expdir}]
    --python CMD            Python interpreter [${python}]
  Data preparation
    --local_data_opts STR   options passed to local/data.sh [${local_data_opts}]
    --fs RATE               sample rate of the formatted audio, e.g. 16k or 16000 [${fs}]
    --min_wav_duration SEC  drop shorter training/validation utterances [${min_wav_duration}]
    --max_wav_duration SEC  drop longer training/validation utterances [${max_wav_duration}]
  Caption tokens
    --nbpe N                sentencepiece vocabulary size [${nbpe}]
    --bpemode TYPE          unigram, bpe, char or word [${bpemode}]
  Training
    --train_config YAML     training configuration [${train_config}]
    --train_args STR        extra slap_train options, e.g. "--max_epoch 2" [${train_args}]
    --tag NAME              experiment name, ${expdir}/slap_NAME [config name + train_args]
    --stats_tag NAME        statistics directory, ${expdir}/slap_stats_NAME [raw_<bpemode><nbpe>]
    --feats_normalize NAME  global_mvn uses the collected statistics; anything else leaves the
                            config's normalization alone [${feats_normalize}]
  Inference and scoring
    --inference_config YAML inference configuration [${inference_config}]
    --inference_args STR    extra slap_inference options [${inference_args}]
    --inference_tag NAME    inference directory suffix [config name + model name + args]
    --inference_model FILE  model file in the experiment directory, e.g. latest.pth,
                            valid.loss.ave.pth [${inference_model}]
  Data sets
    --train_set NAME        training set [${train_set}]
    --valid_set NAME        validation set [${valid_set}]
    --test_sets "NAMES"     retrieval and captioning test sets [${test_sets}]
    --zeroshot_sets "NAMES" zero-shot classification sets (need utt2label, labels) [${zeroshot_sets}]
  Upload
    --hf_repo USER/NAME     Hugging Face repository for stage 10 [${hf_repo}]
EOF
)

log "$0 $*"
[ -f utils/parse_options.sh ] \
    || fail "run $0 from a recipe directory (egs2/<corpus>/slap1) that links utils/"
. utils/parse_options.sh
[ $# -eq 0 ] || fail "unexpected arguments: $* (see $0 --help)"

# shellcheck source=/dev/null  # the recipe's own files
. ./path.sh
# shellcheck source=/dev/null
. ./cmd.sh  # train_cmd, cuda_cmd, decode_cmd

# ---------------------------------------------------------------------------------------------
# Settings derived from the options
# ---------------------------------------------------------------------------------------------
case "${fs}" in
    *k) fs_hz=$(awk -v rate="${fs%k}" 'BEGIN { printf "%d", rate * 1000 }') ;;
    *) fs_hz=${fs} ;;
esac
[[ "${fs_hz}" =~ ^[1-9][0-9]*$ ]] || fail "--fs must be like 16k or 16000, got '${fs}'"

# An option string as a directory-name suffix: "--max_epoch 2" -> "_max_epoch2".
args_suffix() {
    echo "$1" | sed -e 's/--/_/g' -e 's/[ |=/]//g'
}

token_dir=data/token_list/bpe_${bpemode}${nbpe}
bpemodel=${token_dir}/bpe.model
token_list=${token_dir}/tokens.txt

stats_dir=${expdir}/slap_stats_${stats_tag:-raw_${bpemode}${nbpe}}
if [ -z "${tag}" ] && [ -n "${train_config}" ]; then
    tag=$(basename "${train_config}" .yaml)$(args_suffix "${train_args}")
fi
slap_exp=${expdir}/slap_${tag}
if [ -z "${inference_tag}" ]; then
    if [ -n "${inference_config}" ]; then
        inference_tag=$(basename "${inference_config}" .yaml)_
    fi
    inference_tag+=$(basename "${inference_model}" .pth)$(args_suffix "${inference_args}")
fi
inference_dir=${slap_exp}/inference_${inference_tag}

eval_sets="${test_sets} ${zeroshot_sets}"
all_sets="${train_set} ${valid_set} ${eval_sets}"

if ${gpu_inference}; then
    inference_cmd=${cuda_cmd}
    inference_ngpu=1
else
    inference_cmd=${decode_cmd}
    inference_ngpu=0
fi

# Threads per job for parallel stages, unless the user chose OMP_NUM_THREADS.
threads_per_job() {
    local cores
    cores=$(nproc)
    echo "${OMP_NUM_THREADS:-$(( cores / $1 > 0 ? cores / $1 : 1 ))}"
}

# Print the end of every log that run.pl marked as failed.
show_failed_logs() {
    local file
    for file in "$@"; do
        if [ -f "${file}" ] && grep -q '^# Ended (code [1-9]' "${file}"; then
            echo "----- last lines of ${file}:" >&2
            tail -n 25 "${file}" >&2
        fi
    done
}

require_sets() {
    [ -n "${train_set}" ] || fail "--train_set is required"
    [ -n "${valid_set}" ] || fail "--valid_set is required"
}

require_train_config() {
    [ -n "${train_config}" ] || fail "--train_config is required for stages 5-6"
    [ -f "${train_config}" ] || fail "--train_config ${train_config}: no such file"
}

require_exp() {
    [ -n "${tag}" ] || fail "give --train_config or --tag to name the experiment"
}

require_file() {
    [ -f "$1" ] || fail "$1 is missing: $2"
}

# ---------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------
stage_1() {
    require_sets
    local dset
    [ -x local/data.sh ] || fail "local/data.sh is missing or not executable"
    # shellcheck disable=SC2086  # word splitting of the option string is intended
    local/data.sh ${local_data_opts}
    for dset in ${all_sets}; do
        [ -f "data/${dset}/wav.scp" ] || fail "local/data.sh did not write data/${dset}/wav.scp"
    done
}

# format_data_dir SRC DST: SRC's audio as ${fs} mono WAV under DST, with SRC's other files.
# wav.scp is written last, so a DST without it is incomplete.
format_data_dir() {
    local src=$1 dst=$2
    local logdir=${dst}/logdir
    require_file "${src}/wav.scp" "run stage 1 first"
    rm -rf "${dst}"
    mkdir -p "${logdir}"
    local n_utts jobs n
    n_utts=$(wc -l <"${src}/wav.scp")
    jobs=$(min "${nj}" "${n_utts}")
    # shellcheck disable=SC2046
    ${python} scripts/split_scp.py "${src}/wav.scp" $(seq -f "${logdir}/keys.%g.scp" "${jobs}")
    OMP_NUM_THREADS=$(threads_per_job "${jobs}") \
    ${train_cmd} JOB=1:"${jobs}" "${logdir}/format_wav_scp.JOB.log" \
        ${python} scripts/format_wav_scp.py \
            --fs "${fs_hz}" \
            --audio_dir "${dst}/data/format.JOB" \
            --out_wav_scp "${logdir}/wav.JOB.scp" \
            --out_num_samples "${logdir}/utt2num_samples.JOB" \
            "${logdir}/keys.JOB.scp" \
        || { show_failed_logs "${logdir}"/format_wav_scp.*.log; fail "formatting ${src} failed"; }
    local file
    for file in "${src}"/*; do
        case "$(basename "${file}")" in
            wav.scp | utt2num_samples) ;;
            *) [ -f "${file}" ] && cp "${file}" "${dst}/" ;;
        esac
    done
    for n in $(seq "${jobs}"); do cat "${logdir}/utt2num_samples.${n}"; done \
        | sort >"${dst}/utt2num_samples"
    for n in $(seq "${jobs}"); do cat "${logdir}/wav.${n}.scp"; done | sort >"${dst}/wav.scp.tmp"
    mv "${dst}/wav.scp.tmp" "${dst}/wav.scp"
    log "${src} -> ${dst}: ${n_utts} utterances at ${fs_hz} Hz (${jobs} jobs)"
}

stage_2() {
    require_sets
    local dset
    for dset in ${train_set} ${valid_set}; do
        format_data_dir "data/${dset}" "${dumpdir}/raw/org/${dset}"
    done
    for dset in ${eval_sets}; do
        format_data_dir "data/${dset}" "${dumpdir}/raw/${dset}"
    done
}

stage_3() {
    require_sets
    local dset
    for dset in ${train_set} ${valid_set}; do
        require_file "${dumpdir}/raw/org/${dset}/wav.scp" "run stage 2 first"
        ${python} scripts/filter_by_duration.py \
            --fs "${fs_hz}" \
            --min_seconds "${min_wav_duration}" \
            --max_seconds "${max_wav_duration}" \
            "${dumpdir}/raw/org/${dset}" "${dumpdir}/raw/${dset}"
    done
    for dset in ${all_sets}; do
        utils/validate_data_dir.sh "${dumpdir}/raw/${dset}"
    done
}

stage_4() {
    require_sets
    local text=${dumpdir}/raw/${train_set}/text
    require_file "${text}" "run stage 3 first"
    mkdir -p "${token_dir}"
    cut -f 2- -d " " "${text}" >"${token_dir}/train_text.txt"
    ${python} scripts/spm_train.py \
        --input "${token_dir}/train_text.txt" \
        --model_prefix "${token_dir}/bpe" \
        --vocab_size "${nbpe}" \
        --model_type "${bpemode}"
    ${train_cmd} "${token_dir}/tokenize_text.log" \
        ${python} -m espnet2.bin.tokenize_text \
            --token_type bpe \
            --bpemodel "${bpemodel}" \
            --input "${text}" \
            --field 2- \
            --output "${token_list}" \
            --write_vocabulary true \
            --add_symbol "<blank>:0" \
            --add_symbol "<unk>:1" \
            --add_symbol "<sos/eos>:-1" \
        || { show_failed_logs "${token_dir}/tokenize_text.log"; fail "tokenize_text failed"; }
    log "Token list: ${token_list} ($(wc -l <"${token_list}") tokens)"
}

stage_5() {
    require_sets
    require_train_config
    require_file "${token_list}" "run stage 4 first"
    local train_dir=${dumpdir}/raw/${train_set} valid_dir=${dumpdir}/raw/${valid_set}
    local logdir=${stats_dir}/logdir
    local jobs n
    jobs=$(min "${nj}" "$(wc -l <"${train_dir}/wav.scp")" "$(wc -l <"${valid_dir}/wav.scp")")
    rm -rf "${logdir}"
    mkdir -p "${logdir}"
    # Each job reads the utterances of its key files (subsets of wav.scp).
    # shellcheck disable=SC2046
    ${python} scripts/split_scp.py "${train_dir}/wav.scp" $(seq -f "${logdir}/train.%g.scp" "${jobs}")
    # shellcheck disable=SC2046
    ${python} scripts/split_scp.py "${valid_dir}/wav.scp" $(seq -f "${logdir}/valid.%g.scp" "${jobs}")
    # The statistics are of the raw features, so no normalization is built here; ESPnet's
    # sequence iterator reads the key files (the packing sampler needs shape files).
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=$(threads_per_job "${jobs}") \
    ${train_cmd} JOB=1:"${jobs}" "${logdir}/stats.JOB.log" \
        ${python} -m espnet2_slap.bin.slap_train \
            --collect_stats true \
            --use_preprocessor true \
            --token_list "${token_list}" \
            --bpemodel "${bpemodel}" \
            --train_data_path_and_name_and_type "${train_dir}/wav.scp,speech,sound" \
            --train_data_path_and_name_and_type "${train_dir}/text,text,text" \
            --valid_data_path_and_name_and_type "${valid_dir}/wav.scp,speech,sound" \
            --valid_data_path_and_name_and_type "${valid_dir}/text,text,text" \
            --train_shape_file "${logdir}/train.JOB.scp" \
            --valid_shape_file "${logdir}/valid.JOB.scp" \
            --output_dir "${logdir}/stats.JOB" \
            --config "${train_config}" \
            --normalize none \
            --iterator_type sequence \
            --batch_type unsorted \
            ${train_args} \
        || { show_failed_logs "${logdir}"/stats.*.log; fail "collecting statistics failed"; }
    local inputs=()
    for n in $(seq "${jobs}"); do inputs+=(--input_dir "${logdir}/stats.${n}"); done
    ${python} -m espnet2.bin.aggregate_stats_dirs "${inputs[@]}" --output_dir "${stats_dir}"
    require_file "${stats_dir}/train/speech_shape" "aggregate_stats_dirs wrote no shapes"
    log "Statistics: ${stats_dir} (${jobs} jobs)"
}

stage_6() {
    require_sets
    require_train_config
    require_file "${stats_dir}/train/speech_shape" "run stage 5 first"
    local opts=()
    if [ "${feats_normalize}" = global_mvn ]; then
        opts+=(--normalize global_mvn --normalize_conf "stats_file=${stats_dir}/train/feats_stats.npz")
    fi
    if [ "${ngpu}" -gt 1 ]; then
        opts+=(--multiprocessing_distributed true)
    fi
    mkdir -p "${slap_exp}"
    log "Training log: ${slap_exp}/train.log"
    # shellcheck disable=SC2086
    ${cuda_cmd} --gpu "${ngpu}" "${slap_exp}/train.log" \
        ${python} -m espnet2_slap.bin.slap_train \
            --use_preprocessor true \
            --token_list "${token_list}" \
            --bpemodel "${bpemodel}" \
            "${opts[@]}" \
            --train_data_path_and_name_and_type "${dumpdir}/raw/${train_set}/wav.scp,speech,sound" \
            --train_data_path_and_name_and_type "${dumpdir}/raw/${train_set}/text,text,text" \
            --valid_data_path_and_name_and_type "${dumpdir}/raw/${valid_set}/wav.scp,speech,sound" \
            --valid_data_path_and_name_and_type "${dumpdir}/raw/${valid_set}/text,text,text" \
            --train_shape_file "${stats_dir}/train/speech_shape" \
            --valid_shape_file "${stats_dir}/valid/speech_shape" \
            --resume true \
            --output_dir "${slap_exp}" \
            --config "${train_config}" \
            --ngpu "${ngpu}" \
            ${train_args} \
        || { show_failed_logs "${slap_exp}/train.log"; fail "training failed"; }
    grep "epoch results:" "${slap_exp}/train.log" | sed -e 's/^.*INFO: //' | tail -n 5 || true
}

stage_7() {
    require_exp
    local model_file=${slap_exp}/${inference_model}
    require_file "${model_file}" "train first (stage 6) or choose another --inference_model"
    local config_opts=() dset data dir logdir jobs name n
    [ -n "${inference_config}" ] && config_opts=(--config "${inference_config}")
    for dset in ${eval_sets}; do
        data=${dumpdir}/raw/${dset}
        dir=${inference_dir}/${dset}
        logdir=${dir}/logdir
        require_file "${data}/wav.scp" "run stages 2-3 first"
        rm -rf "${dir}"
        mkdir -p "${logdir}"
        jobs=$(min "${inference_nj}" "$(wc -l <"${data}/wav.scp")")
        # shellcheck disable=SC2046
        ${python} scripts/split_scp.py "${data}/wav.scp" $(seq -f "${logdir}/keys.%g.scp" "${jobs}")
        # shellcheck disable=SC2086
        OMP_NUM_THREADS=$(threads_per_job "${jobs}") \
        ${inference_cmd} --gpu "${inference_ngpu}" JOB=1:"${jobs}" "${logdir}/slap_inference.JOB.log" \
            ${python} -m espnet2_slap.bin.slap_inference \
                --slap_train_config "${slap_exp}/config.yaml" \
                --slap_model_file "${model_file}" \
                --data_path_and_name_and_type "${data}/wav.scp,speech,sound" \
                --key_file "${logdir}/keys.JOB.scp" \
                --output_dir "${logdir}/output.JOB" \
                --ngpu "${inference_ngpu}" \
                "${config_opts[@]}" \
                ${inference_args} \
            || { show_failed_logs "${logdir}"/slap_inference.*.log; fail "inference on ${dset} failed"; }
        for name in audio_embeds.scp text_embeds.scp captions; do
            [ -f "${logdir}/output.1/${name}" ] || continue
            for n in $(seq "${jobs}"); do cat "${logdir}/output.${n}/${name}"; done \
                | sort >"${dir}/${name}"
        done
        require_file "${dir}/audio_embeds.scp" "slap_inference wrote no audio embeddings"
        log "${dset}: $(wc -l <"${dir}/audio_embeds.scp") audio embeddings$( \
            [ -f "${dir}/captions" ] && echo " and captions") in ${dir}"
    done
}

# score_set SET TASK [OPTIONS...]: slap_score on one inference directory; prints results.md.
score_set() {
    local dset=$1 task=$2
    shift 2
    local dir=${inference_dir}/${dset}
    require_file "${dir}/audio_embeds.scp" "run stage 7 first"
    mkdir -p "${dir}/score"
    ${inference_cmd} --gpu "${inference_ngpu}" "${dir}/score/score.log" \
        ${python} -m espnet2_slap.bin.slap_score \
            --slap_train_config "${slap_exp}/config.yaml" \
            --slap_model_file "${slap_exp}/${inference_model}" \
            --data_dir "${dumpdir}/raw/${dset}" \
            --inference_dir "${dir}" \
            --output_dir "${dir}/score" \
            --task "${task}" \
            --ngpu "${inference_ngpu}" \
            "$@" \
        || { show_failed_logs "${dir}/score/score.log"; fail "scoring ${dset} (${task}) failed"; }
    require_file "${dir}/score/results.md" "slap_score wrote no results"
    cat "${dir}/score/results.md"
}

stage_8() {
    require_exp
    local dset
    for dset in ${test_sets}; do
        score_set "${dset}" retrieval
    done
    for dset in ${zeroshot_sets}; do
        score_set "${dset}" zeroshot --labels "${dumpdir}/raw/${dset}/labels"
    done
    ${python} scripts/make_results_md.py \
        --exp_dir "${slap_exp}" \
        --train_config "${train_config:-${slap_exp}/config.yaml}" \
        --model_file "${slap_exp}/${inference_model}" \
        --output "${slap_exp}/RESULTS.md"
    log "Results: ${slap_exp}/RESULTS.md"
}

stage_9() {
    require_exp
    require_file "${slap_exp}/${inference_model}" "train first (stage 6)"
    local opts=()
    if [ -f "${slap_exp}/RESULTS.md" ]; then
        opts+=(--option "${slap_exp}/RESULTS.md")
    else
        log "warning: no ${slap_exp}/RESULTS.md (stage 8); packing without it"
    fi
    [ -d "${slap_exp}/images" ] && opts+=(--option "${slap_exp}/images")
    ${python} -m espnet2_slap.bin.slap_pack \
        --slap_train_config "${slap_exp}/config.yaml" \
        --slap_model_file "${slap_exp}/${inference_model}" \
        "${opts[@]}" \
        --outpath "${slap_exp}/packed_model.zip"
    log "Packed model: ${slap_exp}/packed_model.zip"
}

stage_10() {
    require_exp
    if [ -z "${hf_repo}" ]; then
        log "--hf_repo is empty: nothing uploaded (give --hf_repo <user>/<name>)"
        return 0
    fi
    if ! timeout 10 ${python} -c \
        'import socket; socket.create_connection(("huggingface.co", 443), timeout=5).close()' \
        2>/dev/null; then
        log "huggingface.co cannot be reached from this machine: upload to ${hf_repo} skipped"
        return 0
    fi
    require_file "${slap_exp}/packed_model.zip" "run stage 9 first"
    local upload_dir=${slap_exp}/hf_upload
    rm -rf "${upload_dir}"
    mkdir -p "${upload_dir}"
    ${python} -m zipfile -e "${slap_exp}/packed_model.zip" "${upload_dir}"
    write_model_card >"${upload_dir}/README.md"
    HF_HUB_OFFLINE=0 hf upload --repo-type model "${hf_repo}" "${upload_dir}" . \
        --commit-message "Upload ${slap_exp##*/}"
    log "Uploaded ${upload_dir} to https://huggingface.co/${hf_repo}"
}

# The README of the uploaded model: how it was made, how to load it, and its results.
write_model_card() {
    local corpus
    corpus=$(basename "$(dirname "$(pwd)")")
    cat <<EOF
---
library_name: espnet
tags:
- espnet
- audio
- language-audio-pretraining
- audio-text-retrieval
- audio-captioning
- slap
---

# SLAP model: ${hf_repo}

A SLAP (Scalable Language-Audio Pretraining) model trained with the espnet2_slap recipe
\`egs2/${corpus}/slap1\`, configuration \`${train_config:-${slap_exp}/config.yaml}\`, model file
\`${inference_model}\`.

## Usage

\`\`\`python
from espnet2_slap.inference.slap_inference import SLAPInference

model = SLAPInference.from_pretrained("${hf_repo}")
\`\`\`

EOF
    [ -f "${slap_exp}/RESULTS.md" ] && cat "${slap_exp}/RESULTS.md"
    true
}

# ---------------------------------------------------------------------------------------------
# Driver: run stages ${stage}..${stop_stage}, timing each one
# ---------------------------------------------------------------------------------------------
stage_titles=(
    [1]="Data preparation (local/data.sh)"
    [2]="Format audio (${fs} mono WAV)"
    [3]="Filter by duration and validate data directories"
    [4]="Token list (sentencepiece ${bpemode}, nbpe=${nbpe})"
    [5]="Collect feature statistics"
    [6]="Training (${slap_exp})"
    [7]="Inference (${inference_dir})"
    [8]="Scoring"
    [9]="Packing"
    [10]="Upload to the Hugging Face Hub"
)

# skip_reason N: the option that skips stage N, if any.
skip_reason() {
    case "$1" in
        1 | 2 | 3 | 4) ${skip_data_prep} && echo "--skip_data_prep true" ;;
        5 | 6) ${skip_train} && echo "--skip_train true" ;;
        7 | 8) ${skip_eval} && echo "--skip_eval true" ;;
        9) ${skip_packing} && echo "--skip_packing true" ;;
        10) ${skip_upload} && echo "--skip_upload true" ;;
    esac
    true
}

[[ "${stage}" =~ ^[0-9]+$ ]] || fail "--stage must be a number, got '${stage}'"
[[ "${stop_stage}" =~ ^[0-9]+$ ]] || fail "--stop_stage must be a number, got '${stop_stage}'"
last_stage=$(min "${stop_stage}" "$(( ${#stage_titles[@]} ))")
for stage_number in $(seq "$(( stage > 1 ? stage : 1 ))" "${last_stage}"); do
    title="Stage ${stage_number}: ${stage_titles[stage_number]}"
    reason=$(skip_reason "${stage_number}")
    if [ -n "${reason}" ]; then
        log "${title}: skipped (${reason})"
        continue
    fi
    stage_start=${SECONDS}
    log "${title}"
    "stage_${stage_number}"
    log "${title}: done (took $(( SECONDS - stage_start ))s)"
done
log "Successfully finished (took ${SECONDS}s)"
