#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2154  # train_cmd, cuda_cmd and decode_cmd come from the recipe's cmd.sh
# Audio tagging / classification recipe template: ESPnet's CLS task with the SLAP encoder.
#
# Run it from a recipe directory (egs2/<corpus>/cls1) that provides local/data.sh, conf/,
# db.sh, and links slapcls.sh, path.sh, cmd.sh, utils/ and scripts/ to egs2/TEMPLATE/slapcls1/
# (utils/ and scripts/ are those of egs2/TEMPLATE/slap1). See egs2/TEMPLATE/slapcls1/README.md.
set -euo pipefail

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') [slapcls.sh] $*"; }
fail() { echo "$(date '+%Y-%m-%dT%H:%M:%S') [slapcls.sh] error: $*" >&2; exit 1; }
min() {
    local smallest=$1 value
    shift
    for value in "$@"; do [ "${value}" -lt "${smallest}" ] && smallest=${value}; done
    echo "${smallest}"
}
SECONDS=0

# General
stage=1                # first stage to run
stop_stage=10000       # last stage to run
ngpu=0                 # GPUs for training (0: CPU)
nj=4                   # parallel jobs for formatting and statistics
inference_nj=4         # parallel jobs for inference
gpu_inference=false    # run inference on a GPU
dumpdir=dump           # formatted data
expdir=exp             # experiments
python=python          # the interpreter (path.sh puts the venv first on PATH)

# Data
local_data_opts=       # options of local/data.sh
fs=16k                 # sample rate of the formatted audio
audio_format=flac      # flac or wav
train_set=             # training set name (data/<name>)
valid_set=             # validation set name
test_sets=             # evaluation set names (space-separated)

# Training
train_config=          # training YAML (slap_cls_train options)
train_args=            # extra slap_cls_train options (override the config)
tag=                   # experiment name (default: config name + train_args)
pretrained_slap=       # SLAP model to start from: exp dir, .pth, packed .zip or model-zoo tag
token_list=            # class list (default: data/<train_set>_token_list, from the training labels)
feats_normalize=       # global_mvn: normalise with the statistics of stage 3 (without --pretrained_slap)

# Inference and scoring
inference_model=valid.loss.best.pth  # model file of the experiment used by stages 5-7

help_message=$(cat <<EOF
Usage: $0 --train_set <name> --valid_set <name> --test_sets "<names>" --train_config <yaml> [options]

Stages:
  1  data preparation   local/data.sh -> data/<set>/ (wav.scp, text = labels)
  2  format audio       ${fs} mono ${audio_format} -> ${dumpdir}/raw/<set>/; class list from the training labels
  3  statistics         shape files (and feature statistics) -> ${expdir}/cls_stats_<train_set>/
  4  training           python -m espnet2_slap.bin.slap_cls_train -> ${expdir}/cls_<tag>/
  5  inference          python -m espnet2_slap.bin.slap_cls_inference -> ${expdir}/cls_<tag>/cls_<set>/{score,text}
  6  scoring            python -m espnet2_slap.cls.scoring -> .../scoring/metrics.{json,md}, RESULTS.md
  7  packing            python -m espnet2.bin.pack cls -> ${expdir}/cls_<tag>/packed_model.zip

Options (defaults in brackets): --stage [${stage}] --stop_stage [${stop_stage}] --ngpu [${ngpu}]
  --nj [${nj}] --inference_nj [${inference_nj}] --gpu_inference [${gpu_inference}]
  --dumpdir [${dumpdir}] --expdir [${expdir}] --python [${python}]
  --local_data_opts STR   options of local/data.sh [${local_data_opts}]
  --fs RATE --audio_format flac|wav   formatted audio [${fs} ${audio_format}]
  --train_set/--valid_set/--test_sets NAMES   data sets (required)
  --train_config YAML     slap_cls_train configuration (required for stages 3-4)
  --train_args STR        extra slap_cls_train options, e.g. "--max_epoch 2"
  --tag NAME              experiment name, ${expdir}/cls_NAME [config name + train_args]
  --pretrained_slap SRC   initialise the encoder from this SLAP model (--slap_init)
  --token_list FILE       class list [data/<train_set>_token_list]
  --feats_normalize NAME  global_mvn: use the statistics of stage 3; empty keeps the config's
                          (a --pretrained_slap model brings its own normalisation) [${feats_normalize}]
  --inference_model FILE  model file of the experiment for stages 5-7 [${inference_model}]
EOF
)

log "$0 $*"
for arg in "$@"; do
    if [ "${arg}" = --help ] || [ "${arg}" = -h ]; then echo "${help_message}"; exit 0; fi
done
# shellcheck source=/dev/null
. utils/parse_options.sh
[ $# -eq 0 ] || fail "unexpected arguments: $*"$'\n'"${help_message}"
# shellcheck source=/dev/null
. ./path.sh
# shellcheck source=/dev/null
. ./cmd.sh

[ -n "${train_set}" ] || fail "--train_set is required"
[ -n "${valid_set}" ] || fail "--valid_set is required"
fs_hz=$(${python} -c "import humanfriendly; print(humanfriendly.parse_size('${fs}'))")
if [ -z "${tag}" ]; then
    [ -n "${train_config}" ] || fail "give --train_config or --tag to name the experiment"
    tag="$(basename "${train_config}" .yaml)$(echo "${train_args}" | sed -e 's/--/_/g' -e 's/[ |=/]//g')"
fi
token_list=${token_list:-data/${train_set}_token_list}
stats_dir=${expdir}/cls_stats_${train_set}
cls_exp=${expdir}/cls_${tag}
all_sets=$(echo "${train_set} ${valid_set} ${test_sets}" | tr ' ' '\n' | awk 'NF && !seen[$0]++' | tr '\n' ' ')

show_failed_logs() {
    local file
    for file in "$@"; do
        if [ -f "${file}" ] && grep -q '^# Ended (code [1-9]' "${file}"; then
            echo "----- last lines of ${file}:" >&2
            tail -n 25 "${file}" >&2
        fi
    done
}
require_file() { [ -f "$1" ] || fail "$1 is missing: $2"; }
data_opts() {  # data_opts MODE DIR: the --<mode>_data_path_and_name_and_type pair of DIR
    echo "--$1_data_path_and_name_and_type $2/wav.scp,speech,sound --$1_data_path_and_name_and_type $2/text,label,text"
}

stage_1() {
    [ -x local/data.sh ] || fail "local/data.sh is missing or not executable"
    # shellcheck disable=SC2086
    local/data.sh ${local_data_opts}
    local dset
    for dset in ${all_sets}; do
        require_file "data/${dset}/wav.scp" "local/data.sh did not write data/${dset}"
        require_file "data/${dset}/text" "local/data.sh did not write labels (data/${dset}/text)"
    done
}

stage_2() {
    local dset src dst logdir jobs n file
    for dset in ${all_sets}; do
        src=data/${dset} dst=${dumpdir}/raw/${dset} logdir=${dumpdir}/raw/${dset}/logdir
        require_file "${src}/wav.scp" "run stage 1 first"
        rm -rf "${dst}"
        mkdir -p "${logdir}"
        jobs=$(min "${nj}" "$(wc -l <"${src}/wav.scp")")
        # shellcheck disable=SC2046
        ${python} scripts/split_scp.py "${src}/wav.scp" $(seq -f "${logdir}/keys.%g.scp" "${jobs}")
        ${train_cmd} JOB=1:"${jobs}" "${logdir}/format_wav_scp.JOB.log" \
            ${python} scripts/format_wav_scp.py --fs "${fs_hz}" --audio_format "${audio_format}" \
                --audio_dir "${dst}/data/format.JOB" --out_wav_scp "${logdir}/wav.JOB.scp" \
                --out_num_samples "${logdir}/utt2num_samples.JOB" "${logdir}/keys.JOB.scp" \
            || { show_failed_logs "${logdir}"/format_wav_scp.*.log; fail "formatting ${src} failed"; }
        for file in "${src}"/*; do
            case "$(basename "${file}")" in wav.scp | utt2num_samples) ;; *) [ -f "${file}" ] && cp "${file}" "${dst}/" ;; esac
        done
        for n in $(seq "${jobs}"); do cat "${logdir}/utt2num_samples.${n}"; done | sort >"${dst}/utt2num_samples"
        for n in $(seq "${jobs}"); do cat "${logdir}/wav.${n}.scp"; done | sort >"${dst}/wav.scp"
        log "${src} -> ${dst} ($(wc -l <"${dst}/wav.scp") clips at ${fs_hz} Hz)"
    done
    # The classes: the labels of the training set, sorted, then <unk> (ESPnet's CLS task reads
    # the last entry as <unk>, not a class). A token list of words, as CLSTask expects.
    mkdir -p "$(dirname "${token_list}")"
    { cut -d " " -f 2- "${dumpdir}/raw/${train_set}/text" | tr " " "\n" | grep -v -e "^$" -e "^<blank>$" \
        | LC_ALL=C sort -u; echo "<unk>"; } >"${token_list}"
    log "Class list: ${token_list} ($(( $(wc -l <"${token_list}") - 1 )) classes)"
}

stage_3() {
    [ -n "${train_config}" ] || fail "--train_config is required"
    require_file "${token_list}" "run stage 2 first"
    local train_dir=${dumpdir}/raw/${train_set} valid_dir=${dumpdir}/raw/${valid_set} logdir=${stats_dir}/logdir jobs n
    rm -rf "${logdir}"
    mkdir -p "${logdir}"
    jobs=$(min "${nj}" "$(wc -l <"${train_dir}/wav.scp")" "$(wc -l <"${valid_dir}/wav.scp")")
    # shellcheck disable=SC2046
    ${python} scripts/split_scp.py "${train_dir}/wav.scp" $(seq -f "${logdir}/train.%g.scp" "${jobs}")
    # shellcheck disable=SC2046
    ${python} scripts/split_scp.py "${valid_dir}/wav.scp" $(seq -f "${logdir}/valid.%g.scp" "${jobs}")
    # The SLAP model's architecture (not its weights) keeps the model built here small.
    local slap_opts=()
    [ -n "${pretrained_slap}" ] && slap_opts=(--slap_init "${pretrained_slap}" --slap_init_weights none)
    # shellcheck disable=SC2046,SC2086
    ${train_cmd} JOB=1:"${jobs}" "${logdir}/stats.JOB.log" \
        ${python} -m espnet2_slap.bin.slap_cls_train --collect_stats true --use_preprocessor true \
            --config "${train_config}" --token_list "${token_list}" \
            $(data_opts train "${train_dir}") $(data_opts valid "${valid_dir}") \
            --train_shape_file "${logdir}/train.JOB.scp" --valid_shape_file "${logdir}/valid.JOB.scp" \
            --iterator_type sequence --batch_type unsorted --normalize none \
            --output_dir "${logdir}/stats.JOB" "${slap_opts[@]}" ${train_args} \
        || { show_failed_logs "${logdir}"/stats.*.log; fail "collecting statistics failed"; }
    local inputs=()
    for n in $(seq "${jobs}"); do inputs+=(--input_dir "${logdir}/stats.${n}"); done
    ${python} -m espnet2.bin.aggregate_stats_dirs "${inputs[@]}" --output_dir "${stats_dir}"
    require_file "${stats_dir}/train/speech_shape" "aggregate_stats_dirs wrote no shapes"
}

stage_4() {
    [ -n "${train_config}" ] || fail "--train_config is required"
    require_file "${stats_dir}/train/speech_shape" "run stage 3 first"
    local opts=()
    [ -n "${pretrained_slap}" ] && opts+=(--slap_init "${pretrained_slap}")
    [ "${ngpu}" -gt 1 ] && opts+=(--multiprocessing_distributed true)
    if [ "${feats_normalize}" = global_mvn ]; then
        opts+=(--normalize global_mvn --normalize_conf "stats_file=${stats_dir}/train/feats_stats.npz")
    fi
    mkdir -p "${cls_exp}"
    log "Training log: ${cls_exp}/train.log"
    # With --pretrained_slap the SLAP model's features and normalisation replace the config's.
    # shellcheck disable=SC2046,SC2086
    ${cuda_cmd} --gpu "${ngpu}" "${cls_exp}/train.log" \
        ${python} -m espnet2_slap.bin.slap_cls_train --use_preprocessor true \
            --config "${train_config}" --token_list "${token_list}" \
            $(data_opts train "${dumpdir}/raw/${train_set}") $(data_opts valid "${dumpdir}/raw/${valid_set}") \
            --train_shape_file "${stats_dir}/train/speech_shape" --valid_shape_file "${stats_dir}/valid/speech_shape" \
            --resume true --output_dir "${cls_exp}" --ngpu "${ngpu}" "${opts[@]}" ${train_args} \
        || { show_failed_logs "${cls_exp}/train.log"; fail "training failed"; }
    grep "epoch results:" "${cls_exp}/train.log" | sed -e 's/^.*INFO: //' | tail -n 3 || true
}

stage_5() {
    require_file "${cls_exp}/${inference_model}" "train first (stage 4) or choose another --inference_model"
    local dset data dir logdir jobs n f cmd=${decode_cmd} gpu=0
    if ${gpu_inference}; then cmd=${cuda_cmd}; gpu=1; fi
    for dset in ${test_sets}; do
        data=${dumpdir}/raw/${dset} dir=${cls_exp}/cls_${dset} logdir=${cls_exp}/cls_${dset}/logdir
        rm -rf "${dir}"
        mkdir -p "${logdir}"
        jobs=$(min "${inference_nj}" "$(wc -l <"${data}/wav.scp")")
        # shellcheck disable=SC2046
        ${python} scripts/split_scp.py "${data}/wav.scp" $(seq -f "${logdir}/keys.%g.scp" "${jobs}")
        ${cmd} --gpu "${gpu}" JOB=1:"${jobs}" "${logdir}/cls_inference.JOB.log" \
            ${python} -m espnet2_slap.bin.slap_cls_inference --ngpu "${gpu}" \
                --data_path_and_name_and_type "${data}/wav.scp,speech,sound" --key_file "${logdir}/keys.JOB.scp" \
                --classification_train_config "${cls_exp}/config.yaml" \
                --classification_model_file "${cls_exp}/${inference_model}" \
                --output_all_probabilities true --num_workers 0 --output_dir "${logdir}/output.JOB" \
            || { show_failed_logs "${logdir}"/cls_inference.*.log; fail "inference on ${dset} failed"; }
        for f in score text; do
            for n in $(seq "${jobs}"); do cat "${logdir}/output.${n}/prediction/${f}"; done | LC_ALL=C sort -k1,1 >"${dir}/${f}"
        done
        log "${dset}: $(wc -l <"${dir}/score") clips classified in ${dir}"
    done
}

stage_6() {
    local dset dir
    {
        echo "# ${cls_exp}"
        echo
        echo "model: ${inference_model}; config: ${train_config:-${cls_exp}/config.yaml}"
        echo
    } >"${cls_exp}/RESULTS.md"
    for dset in ${test_sets}; do
        dir=${cls_exp}/cls_${dset}
        require_file "${dir}/score" "run stage 5 first"
        ${python} -m espnet2_slap.cls.scoring score --ref "${dumpdir}/raw/${dset}/text" \
            --score "${dir}/score" --token_list "${token_list}" --out "${dir}/scoring" >/dev/null
        { echo "## ${dset}"; tail -n +2 "${dir}/scoring/metrics.md"; echo; } >>"${cls_exp}/RESULTS.md"
    done
    cat "${cls_exp}/RESULTS.md"
}

stage_7() {
    require_file "${cls_exp}/${inference_model}" "train first (stage 4)"
    local opts=() stats_file
    stats_file=$(${python} -c "import sys, yaml; c = yaml.safe_load(open(sys.argv[1])); print((c.get('normalize_conf') or {}).get('stats_file') or '')" "${cls_exp}/config.yaml")
    if [ -n "${stats_file}" ] && [ -f "${stats_file}" ]; then opts+=(--option "${stats_file}"); fi
    if [ -f "${cls_exp}/RESULTS.md" ]; then opts+=(--option "${cls_exp}/RESULTS.md"); fi
    ${python} -m espnet2.bin.pack cls --classification_train_config "${cls_exp}/config.yaml" \
        --classification_model_file "${cls_exp}/${inference_model}" "${opts[@]}" \
        --outpath "${cls_exp}/packed_model.zip"
    log "Packed model: ${cls_exp}/packed_model.zip"
}

last_stage=$(min "${stop_stage}" 7)
for ((s = stage; s <= last_stage; s++)); do
    log "Stage ${s}"
    "stage_${s}"
done
log "Finished stages ${stage}-${last_stage} (took ${SECONDS}s)"
