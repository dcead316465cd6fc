#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2154  # train_cmd, cuda_cmd and decode_cmd come from the recipe's cmd.sh
# Audio tagging / classification recipe template: ESPnet's CLS task with the SLAP encoder.
#
# Run it from a recipe directory (egs2/<corpus>/cls1) that provides local/data.sh, conf/,
# db.sh, and links slapcls.sh, path.sh, cmd.sh, utils/ and scripts/ to egs2/TEMPLATE/slapcls1/
# (utils/ and scripts/ are those of egs2/TEMPLATE/slap1). See egs2/TEMPLATE/slapcls1/README.md.
set -euo pipefail
# log, fail, format_data_dir, the stage driver, ...: shared with slap.sh
# shellcheck source=../slap1/scripts/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scripts/lib.sh"

SECONDS=0

# General
stage=1                # first stage to run
stop_stage=10000       # last stage to run
skip_data_prep=false   # skip stages 1-2
skip_train=false       # skip stages 3-4
skip_eval=false        # skip stages 5-6
skip_packing=false     # skip stage 7
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
token_list=            # class list (default: data/<train_set>_token_list, the training labels)
feats_normalize=       # global_mvn: the statistics of stage 3 (without --pretrained_slap)

# Inference and scoring
inference_model=valid.loss.best.pth  # model file of the experiment used by stages 5-7

# The stages each --skip_* flag skips (as in slap.sh); the help text and the driver read this.
declare -A skip_stages=([data_prep]=1-2 [train]=3-4 [eval]=5-6 [packing]=7)

help_message=$(cat <<EOF
Usage: $0 --train_set <name> --valid_set <name> --test_sets "<names>"
           --train_config <yaml> [options]

Stages:
  1  data preparation     local/data.sh -> data/<set>/ (wav.scp, text = labels)
  2  format audio         ${fs} mono ${audio_format} -> ${dumpdir}/raw/<set>/;
                          the class list from the training labels
  3  collect statistics   shape files (and feature statistics)
                          -> ${expdir}/cls_stats_<train_set>/
  4  training             python -m espnet2_slap.bin.slap_cls_train -> ${expdir}/cls_<tag>/
  5  inference            python -m espnet2_slap.bin.slap_cls_inference
                          -> ${expdir}/cls_<tag>/cls_<set>/{score,text}
  6  scoring              python -m espnet2_slap.cls.scoring
                          -> .../scoring/metrics.{json,md}, RESULTS.md
  7  packing              python -m espnet2.bin.pack cls -> ${expdir}/cls_<tag>/packed_model.zip

Options (--foo_bar and --foo-bar are the same; defaults in brackets):
    --stage N               first stage to run [${stage}]
    --stop_stage N          last stage to run [${stop_stage}]
    --skip_data_prep BOOL   skip stages ${skip_stages[data_prep]} [${skip_data_prep}]
    --skip_train BOOL       skip stages ${skip_stages[train]} [${skip_train}]
    --skip_eval BOOL        skip stages ${skip_stages[eval]} [${skip_eval}]
    --skip_packing BOOL     skip stage ${skip_stages[packing]} [${skip_packing}]
    --ngpu N                GPUs for training, 0 for CPU [${ngpu}]
    --nj N                  parallel jobs for stages 2 and 3 [${nj}]
    --inference_nj N        parallel jobs for stage 5 [${inference_nj}]
    --gpu_inference BOOL    run inference on a GPU [${gpu_inference}]
    --dumpdir DIR           formatted data [${dumpdir}]
    --expdir DIR            experiments [${expdir}]
    --python CMD            Python interpreter [${python}]
    --local_data_opts STR   options passed to local/data.sh [${local_data_opts}]
    --fs RATE               sample rate of the formatted audio, e.g. 16k or 16000 [${fs}]
    --audio_format FMT      flac or wav: file format of the formatted audio [${audio_format}]
    --train_set NAME        training set [${train_set}]
    --valid_set NAME        validation set [${valid_set}]
    --test_sets "NAMES"     evaluation sets [${test_sets}]
    --train_config YAML     slap_cls_train configuration, needed by stages 3-4 [${train_config}]
    --train_args STR        extra slap_cls_train options, e.g. "--max_epoch 2" [${train_args}]
    --tag NAME              experiment name, ${expdir}/cls_NAME [config name + train_args]
    --pretrained_slap SRC   the SLAP model the encoder starts from [${pretrained_slap}]
    --token_list FILE       class list [data/<train_set>_token_list]
    --feats_normalize NAME  global_mvn: use the statistics of stage 3; empty keeps the config's
                            (a --pretrained_slap model brings its own normalisation)
                            [${feats_normalize}]
    --inference_model FILE  model file of the experiment for stages 5-7 [${inference_model}]
EOF
)

help_requested "$@" && { echo "${help_message}"; exit 0; }
log "$0 $*"
[ -f utils/parse_options.sh ] && [ -f path.sh ] \
    || fail "run slapcls.sh from its recipe directory (egs2/<corpus>/cls1, with path.sh and a" \
        "utils/ link): cd $(dirname "$0") first"
# shellcheck source=../slap1/utils/parse_options.sh
. utils/parse_options.sh
[ $# -eq 0 ] || fail "unexpected arguments: $* (see $0 --help)"
# shellcheck source=/dev/null  # the recipe's own files
. ./path.sh
# shellcheck source=/dev/null
. ./cmd.sh  # train_cmd, cuda_cmd, decode_cmd

# ---------------------------------------------------------------------------------------------
# Settings derived from the options
# ---------------------------------------------------------------------------------------------
[ -n "${train_set}" ] || fail "--train_set is required"
[ -n "${valid_set}" ] || fail "--valid_set is required"
fs_hz=$(rate_in_hz "${fs}") || exit 1
if [ -z "${tag}" ]; then
    [ -n "${train_config}" ] || fail "give --train_config or --tag to name the experiment"
    tag=$(basename "${train_config}" .yaml)$(args_suffix "${train_args}")
fi
token_list=${token_list:-data/${train_set}_token_list}
stats_dir=${expdir}/cls_stats_${train_set}
cls_exp=${expdir}/cls_${tag}
all_sets=$(echo "${train_set} ${valid_set} ${test_sets}" | tr ' ' '\n' | awk 'NF && !seen[$0]++' \
    | tr '\n' ' ')
inference_runner  # inference_cmd, inference_ngpu

# data_opts MODE DIR: the --<MODE>_data_path_and_name_and_type options of DIR (audio, labels).
data_opts() {
    echo "--$1_data_path_and_name_and_type $2/wav.scp,speech,sound" \
        "--$1_data_path_and_name_and_type $2/text,label,text"
}

# ---------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------
stage_1() {
    run_local_data wav.scp text
}

stage_2() {
    local dset
    for dset in ${all_sets}; do
        format_data_dir "data/${dset}" "${dumpdir}/raw/${dset}"
    done
    # The classes: the labels of the training set, sorted, then <unk> (ESPnet's CLS task reads
    # the last entry as <unk>, not a class). A token list of words, as CLSTask expects.
    mkdir -p "$(dirname "${token_list}")"
    {
        cut -d " " -f 2- "${dumpdir}/raw/${train_set}/text" | tr " " "\n" \
            | grep -v -e "^$" -e "^<blank>$" | LC_ALL=C sort -u
        echo "<unk>"
    } >"${token_list}"
    log "Class list: ${token_list} ($(( $(wc -l <"${token_list}") - 1 )) classes)"
}

stage_3() {
    [ -n "${train_config}" ] || fail "--train_config is required"
    require_file "${token_list}" "run stage 2 first"
    local train_dir=${dumpdir}/raw/${train_set} valid_dir=${dumpdir}/raw/${valid_set}
    local slap_opts=()
    # The SLAP model's architecture (not its weights) keeps the model built here small.
    if [ -n "${pretrained_slap}" ]; then
        slap_opts=(--slap_init "${pretrained_slap}" --slap_init_weights none)
    fi
    # shellcheck disable=SC2046,SC2086
    run_stats_jobs "${train_dir}" "${valid_dir}" "${stats_dir}" \
        ${python} -m espnet2_slap.bin.slap_cls_train --collect_stats true --use_preprocessor true \
            --config "${train_config}" --token_list "${token_list}" \
            $(data_opts train "${train_dir}") $(data_opts valid "${valid_dir}") \
            --iterator_type sequence --batch_type unsorted --normalize none \
            "${slap_opts[@]}" ${train_args}
}

stage_4() {
    [ -n "${train_config}" ] || fail "--train_config is required"
    require_file "${stats_dir}/train/speech_shape" "run stage 3 first"
    local opts=()
    [ -n "${pretrained_slap}" ] && opts+=(--slap_init "${pretrained_slap}")
    [ "${ngpu}" -gt 1 ] && opts+=(--multiprocessing_distributed true)
    if [ "${feats_normalize}" = global_mvn ]; then
        opts+=(--normalize global_mvn
               --normalize_conf "stats_file=${stats_dir}/train/feats_stats.npz")
    fi
    mkdir -p "${cls_exp}"
    log "Training log: ${cls_exp}/train.log"
    # With --pretrained_slap the SLAP model's features and normalisation replace the config's.
    # shellcheck disable=SC2046,SC2086
    ${cuda_cmd} --gpu "${ngpu}" "${cls_exp}/train.log" \
        ${python} -m espnet2_slap.bin.slap_cls_train --use_preprocessor true \
            --config "${train_config}" --token_list "${token_list}" \
            $(data_opts train "${dumpdir}/raw/${train_set}") \
            $(data_opts valid "${dumpdir}/raw/${valid_set}") \
            --train_shape_file "${stats_dir}/train/speech_shape" \
            --valid_shape_file "${stats_dir}/valid/speech_shape" \
            --resume true --output_dir "${cls_exp}" --ngpu "${ngpu}" "${opts[@]}" ${train_args} \
        || { show_failed_logs "${cls_exp}/train.log"; fail "training failed"; }
    grep "epoch results:" "${cls_exp}/train.log" | sed -e 's/^.*INFO: //' | tail -n 3 || true
}

stage_5() {
    require_file "${cls_exp}/${inference_model}" \
        "train first (stage 4) or choose another --inference_model"
    local dset data dir jobs f
    for dset in ${test_sets}; do
        data=${dumpdir}/raw/${dset} dir=${cls_exp}/cls_${dset}
        run_inference_jobs "${data}" "${dir}" cls_inference \
            ${python} -m espnet2_slap.bin.slap_cls_inference --ngpu "${inference_ngpu}" \
                --data_path_and_name_and_type "${data}/wav.scp,speech,sound" \
                --classification_train_config "${cls_exp}/config.yaml" \
                --classification_model_file "${cls_exp}/${inference_model}" \
                --output_all_probabilities true --num_workers 0
        for f in score text; do
            cat_jobs "${jobs}" "${dir}/logdir/output.JOB/prediction/${f}" | LC_ALL=C sort -k1,1 \
                >"${dir}/${f}"
        done
        log "${dset}: $(wc -l <"${dir}/score") clips classified in ${dir}"
    done
}

stage_6() {
    local dset dir results=${cls_exp}/RESULTS.md
    {
        echo "# ${cls_exp}"
        echo
        echo "model: ${inference_model}; config: ${train_config:-${cls_exp}/config.yaml}"
        echo
    } >"${results}"
    for dset in ${test_sets}; do
        dir=${cls_exp}/cls_${dset}
        require_file "${dir}/score" "run stage 5 first"
        ${python} -m espnet2_slap.cls.scoring score --ref "${dumpdir}/raw/${dset}/text" \
            --score "${dir}/score" --token_list "${token_list}" --out "${dir}/scoring" >/dev/null
        { echo "## ${dset}"; tail -n +2 "${dir}/scoring/metrics.md"; echo; } >>"${results}"
    done
    cat "${results}"
}

# normalize_stats_file CONFIG: the normalisation statistics a trained config names, if any.
normalize_stats_file() {
    ${python} -c 'import sys, yaml
config = yaml.safe_load(open(sys.argv[1]))
print((config.get("normalize_conf") or {}).get("stats_file") or "")' "$1"
}

stage_7() {
    require_file "${cls_exp}/${inference_model}" "train first (stage 4)"
    local opts=() stats_file
    stats_file=$(normalize_stats_file "${cls_exp}/config.yaml")
    if [ -n "${stats_file}" ] && [ -f "${stats_file}" ]; then opts+=(--option "${stats_file}"); fi
    if [ -f "${cls_exp}/RESULTS.md" ]; then opts+=(--option "${cls_exp}/RESULTS.md"); fi
    ${python} -m espnet2.bin.pack cls --classification_train_config "${cls_exp}/config.yaml" \
        --classification_model_file "${cls_exp}/${inference_model}" "${opts[@]}" \
        --outpath "${cls_exp}/packed_model.zip"
    log "Packed model: ${cls_exp}/packed_model.zip"
}

# ---------------------------------------------------------------------------------------------
# Driver: run stages ${stage}..${stop_stage}, timing each one (run_stages in scripts/lib.sh)
# ---------------------------------------------------------------------------------------------
stage_titles=(
    [1]="Data preparation (local/data.sh)"
    [2]="Format audio (${fs} mono ${audio_format})"
    [3]="Collect feature statistics"
    [4]="Training (${cls_exp})"
    [5]="Inference (${cls_exp})"
    [6]="Scoring"
    [7]="Packing"
)

run_stages
