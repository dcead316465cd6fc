#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2154  # train_cmd, cuda_cmd and decode_cmd come from the recipe's cmd.sh
# SLAP recipe template: data preparation, training, evaluation, packing and upload in stages.
#
# Run it from a recipe directory (egs2/<corpus>/slap1) that provides local/data.sh, conf/,
# path.sh and cmd.sh, and links utils/, scripts/ and slap.sh to egs2/TEMPLATE/slap1/.
# See egs2/TEMPLATE/slap1/README.md for the stages and what each one writes.
set -euo pipefail
# log, fail, format_data_dir, the stage driver, ...: shared with slapcls.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scripts/lib.sh"

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
num_nodes=1            # machines for training (>1: cmd.sh submits with slurm.pl or queue.pl)
nj=4                   # parallel jobs for data preparation and statistics
inference_nj=4         # parallel jobs for inference
gpu_inference=false    # run inference on a GPU
dumpdir=dump           # formatted data
expdir=exp             # experiments
python=python          # the interpreter (path.sh puts the recipe's venv first on PATH)

# Data preparation
local_data_opts=       # options of local/data.sh
fs=16k                 # sample rate of the formatted audio
audio_format=flac      # file format of the formatted audio: flac or wav (16-bit PCM either way)
min_wav_duration=0.5   # shorter training/validation utterances are dropped (seconds)
feats_type=raw         # raw: features on the fly; fbank: log-mels dumped once (stage 5)
max_wav_duration=30    # longer training clips are kept and cropped to a random window of
                       # this length per load (the config's crop_seconds); stage 3 counts them

# Caption tokens
nbpe=500               # sentencepiece vocabulary size (an upper bound on small corpora)
bpemode=unigram        # sentencepiece model type: unigram, bpe, char or word

# Training
train_config=          # training YAML
train_args=            # extra options of slap_train (override the config)
tag=                   # experiment name (default: from the config file name and train_args)
stats_tag=             # statistics directory name (default: <feats_type>_<bpemode><nbpe>)
feats_normalize=global_mvn  # global_mvn: pass the collected statistics to the model
num_splits=1           # >1: train on this many shards, one in memory at a time
pretrained_model=      # fine-tune from a SLAP model (exp dir, .zip, zoo tag), or init from a .pth
ignore_init_mismatch=false  # skip parameters of --pretrained_model whose shapes differ

# Inference and scoring
inference_config=      # inference YAML
inference_args=        # extra options of slap_inference
inference_tag=         # inference directory name (default: from config, model and args)
inference_model=valid.loss.best.pth  # model file in the experiment directory
rerank_depth=0         # >0: also re-rank each text query's top N clips by caption likelihood
download_model=        # evaluate this packed model (.zip) or model-zoo tag instead (stages 7-8)

# Data sets
train_set=             # training set name (data/<name>)
valid_set=             # validation set name
test_sets=             # retrieval/captioning test set names (space-separated)
zeroshot_sets=         # zero-shot classification set names (space-separated)

# Upload
hf_repo=               # Hugging Face repository, <user>/<name>
model_card_opts=       # extra options of scripts/make_model_card.py, e.g. "--license mit"

# The stages each --skip_* flag skips; the help text and the driver both read this.
declare -A skip_stages=([data_prep]=1-4 [train]=5-6 [eval]=7-8 [packing]=9 [upload]=10)

help_message=$(cat <<EOF
Usage: $0 --train_set <name> --valid_set <name> --test_sets "<names>"
           --train_config <yaml> [options]

Stages:
   1  data preparation          local/data.sh -> data/<set>/
   2  format audio              ${fs} mono ${audio_format} -> ${dumpdir}/raw/org/<train/valid>/,
                                ${dumpdir}/raw/<test sets>/
   3  filter and validate       duration filter -> ${dumpdir}/raw/<train/valid>/
   4  token list                sentencepiece -> data/token_list/bpe_<bpemode><nbpe>/
   5  collect statistics        ${expdir}/slap_stats_<stats_tag>/ (with --feats_type fbank:
                                log-mels of train/valid -> ${dumpdir}/fbank/<set>/ first)
   6  training                  ${expdir}/slap_<tag>/
   7  inference                 ${expdir}/slap_<tag>/inference_<inference_tag>/<set>/
   8  scoring                   .../<set>/score/results.{json,md}, ${expdir}/slap_<tag>/RESULTS.md
   9  packing                   ${expdir}/slap_<tag>/slap_<tag>_<model>.zip with README.md
                                (the model card)
  10  upload                    Hugging Face Hub (only with --skip_upload false)

Options (--foo_bar and --foo-bar are the same; defaults in brackets):
  General
    --stage N               first stage to run [${stage}]
    --stop_stage N          last stage to run [${stop_stage}]
    --skip_data_prep BOOL   skip stages ${skip_stages[data_prep]} [${skip_data_prep}]
    --skip_train BOOL       skip stages ${skip_stages[train]} [${skip_train}]
    --skip_eval BOOL        skip stages ${skip_stages[eval]} [${skip_eval}]
    --skip_packing BOOL     skip stage ${skip_stages[packing]} [${skip_packing}]
    --skip_upload BOOL      skip stage ${skip_stages[upload]} [${skip_upload}]
    --ngpu N                GPUs for training (per node), 0 for CPU [${ngpu}]
    --num_nodes N           machines for training; more than 1 needs slurm.pl or queue.pl
                            as cuda_cmd in cmd.sh [${num_nodes}]
    --nj N                  parallel jobs for stages 2 and 5 [${nj}]
    --inference_nj N        parallel jobs for stage 7 [${inference_nj}]
    --gpu_inference BOOL    run inference on a GPU [${gpu_inference}]
    --dumpdir DIR           formatted data [${dumpdir}]
    --expdir DIR            experiments [${expdir}]
    --python CMD            Python interpreter [${python}]
  Data preparation
    --local_data_opts STR   options passed to local/data.sh [${local_data_opts}]
    --fs RATE               sample rate of the formatted audio, e.g. 16k or 16000; must
                            match the config's frontend_conf.fs when it sets one [${fs}]
    --audio_format FMT      flac or wav: file format of the formatted audio [${audio_format}]
    --feats_type TYPE       raw: training computes the log-mels on the fly; fbank: stage 5
                            dumps them once (Kaldi ark/scp) and stages 5-6 read the dump
                            (SpecAugment and normalisation still run per clip). Keep raw
                            for corpora with clips over --max_wav_duration [${feats_type}]
    --min_wav_duration SEC  drop shorter training/validation utterances [${min_wav_duration}]
    --max_wav_duration SEC  longer training/validation clips are kept, not dropped: training
                            loads a random window of this length (set the config's
                            crop_seconds to the same value); stage 3 counts them
                            [${max_wav_duration}]
  Caption tokens
    --nbpe N                sentencepiece vocabulary size [${nbpe}]
    --bpemode TYPE          unigram, bpe, char or word [${bpemode}]
  Training
    --train_config YAML     training configuration [${train_config}]
    --train_args STR        extra slap_train options, e.g. "--max_epoch 2" [${train_args}]
    --tag NAME              experiment name, ${expdir}/slap_NAME [config name + train_args]
    --stats_tag NAME        statistics directory, ${expdir}/slap_stats_NAME
                            [<feats_type>_<bpemode><nbpe>]
    --feats_normalize NAME  global_mvn uses the collected statistics; anything else leaves the
                            config's normalization alone [${feats_normalize}]
    --num_splits N          split the training data into N shards that training loads one at
                            a time (ESPnet's --multiple_iterator); for corpora too large for
                            one process' memory, see docs/scaling.md [${num_splits}]
    --pretrained_model PATH fine-tune from a SLAP model: experiment dir, packed .zip or
                            model-zoo tag; its weights, caption token list, BPE model and
                            statistics are reused (stage 4 exports them to ${expdir}/pretrained).
                            A .pth file (slap_train's --init_param syntax,
                            path[:src_key:dst_key:exclude_keys]) gives weights only
                            [${pretrained_model}]
    --ignore_init_mismatch BOOL  skip --pretrained_model parameters whose shapes differ
                            [${ignore_init_mismatch}]
  Inference and scoring
    --inference_config YAML inference configuration [${inference_config}]
    --inference_args STR    extra slap_inference options [${inference_args}]
    --inference_tag NAME    inference directory suffix [config name + model name + args]
    --inference_model FILE  model file in the experiment directory, e.g. latest.pth,
                            valid.loss.ave.pth [${inference_model}]
    --download_model TAG    evaluate a packed model (.zip) or model-zoo / Hub tag in stages
                            7-8; skips training and packing [${download_model}]
    --rerank_depth N        stage 8: also re-rank each text query's top N clips by the caption
                            decoder's likelihood of the query, the mix weight chosen on
                            --valid_set (0: off) [${rerank_depth}]
  Data sets
    --train_set NAME        training set [${train_set}]
    --valid_set NAME        validation set [${valid_set}]
    --test_sets "NAMES"     retrieval and captioning test sets [${test_sets}]
    --zeroshot_sets "NAMES" zero-shot classification sets (need utt2label, labels)
                            [${zeroshot_sets}]
  Upload
    --hf_repo USER/NAME     Hugging Face repository for stage 10 [${hf_repo}]
    --model_card_opts STR   options of scripts/make_model_card.py, e.g. "--license mit
                            --datasets clotho" [${model_card_opts}]
EOF
)

help_requested "$@" && { echo "${help_message}"; exit 0; }
log "$0 $*"
[ -f utils/parse_options.sh ] && [ -f path.sh ] \
    || fail "run slap.sh from its recipe directory (egs2/<corpus>/slap1, with path.sh and a" \
        "utils/ link): cd $(dirname "$0") first"
# shellcheck source=utils/parse_options.sh
. utils/parse_options.sh
[ $# -eq 0 ] || fail "unexpected arguments: $* (see $0 --help)"

# shellcheck source=/dev/null  # the recipe's own files
. ./path.sh
# shellcheck source=/dev/null
. ./cmd.sh  # train_cmd, cuda_cmd, decode_cmd

# ---------------------------------------------------------------------------------------------
# Settings derived from the options
# ---------------------------------------------------------------------------------------------
fs_hz=$(rate_in_hz "${fs}") || exit 1
case "${audio_format}" in
    flac | wav) ;;
    *) fail "--audio_format must be flac or wav, got '${audio_format}'" ;;
esac
case "${feats_type}" in
    raw | fbank) ;;
    *) fail "--feats_type must be raw or fbank, got '${feats_type}'" ;;
esac
[[ "${num_nodes}" =~ ^[1-9][0-9]*$ ]] \
    || fail "--num_nodes must be a positive number, got '${num_nodes}'"

token_dir=data/token_list/bpe_${bpemode}${nbpe}
bpemodel=${token_dir}/bpe.model
token_list=${token_dir}/tokens.txt
# Fine-tuning from a SLAP model (not a bare .pth): stage 4 takes its token list, BPE model and
# statistics (espnet2_slap.bin.slap_export_pretrained) and stage 6 starts from its weights.
finetune_dir=
if [ -n "${pretrained_model}" ] && [[ "${pretrained_model%%:*}" != *.pth ]]; then
    finetune_dir=${expdir}/pretrained
    token_dir=${finetune_dir}
    bpemodel=${token_dir}/bpe.model
    token_list=${token_dir}/tokens.txt
fi

stats_dir=${expdir}/slap_stats_${stats_tag:-${feats_type}_${bpemode}${nbpe}}
if [ -z "${tag}" ] && [ -n "${download_model}" ]; then
    tag=$(basename "${download_model}" .zip | sed -e 's/[^A-Za-z0-9._-]/_/g')
elif [ -z "${tag}" ] && [ -n "${train_config}" ]; then
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

inference_runner  # inference_cmd, inference_ngpu

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

# model_files: set model_config and model_file, the model stages 7-8 evaluate: the trained
# one, or with --download_model the unpacked download (fetched once, before the jobs start).
model_files() {
    if [ -z "${download_model}" ]; then
        model_config=${slap_exp}/config.yaml
        model_file=${slap_exp}/${inference_model}
        require_file "${model_file}" "train first (stage 6) or choose another --inference_model"
        return 0
    fi
    local listing=${slap_exp}/downloaded_model
    if [ ! -f "${listing}" ]; then
        mkdir -p "${slap_exp}"
        ${python} scripts/download_model.py --model_tag "${download_model}" --output "${listing}" \
            || fail "cannot use --download_model ${download_model} (see above)"
    fi
    model_config=$(awk '$1 == "slap_train_config" { print $2 }' "${listing}")
    model_file=$(awk '$1 == "slap_model_file" { print $2 }' "${listing}")
    require_file "${model_file}" "remove ${listing} to unpack ${download_model} again"
}

# slap_train_common_opts: set common_opts, the slap_train options stages 5 and 6 share:
# config, caption tokens, the frontend's sample rate, training and validation data.
slap_train_common_opts() {
    local train_dir=${dumpdir}/raw/${train_set} valid_dir=${dumpdir}/raw/${valid_set} fs_opts
    local speech=wav.scp,speech,sound
    require_file "${train_dir}/wav.scp" "run stages 2-3 first"
    require_file "${valid_dir}/wav.scp" "run stages 2-3 first"
    # The frontend must run at the rate of the dumped audio: refuse a config that says otherwise.
    fs_opts=$(${python} scripts/check_frontend_fs.py --config "${train_config}" --fs "${fs_hz}" \
        --wav_scp "${train_dir}/wav.scp") \
        || fail "the frontend's sample rate does not match (see above)"
    if [ "${feats_type}" = fbank ]; then
        train_dir=${dumpdir}/fbank/${train_set} valid_dir=${dumpdir}/fbank/${valid_set}
        speech=feats.scp,speech,kaldi_ark
        require_file "${train_dir}/feats.scp" "run stage 5 first (it dumps the features)"
    fi
    # shellcheck disable=SC2206  # fs_opts is empty or "--frontend_conf fs=N"
    common_opts=(
        --config "${train_config}"
        --use_preprocessor true
        --token_list "${token_list}"
        --bpemodel "${bpemodel}"
        ${fs_opts}
        --train_data_path_and_name_and_type "${train_dir}/${speech}"
        --train_data_path_and_name_and_type "${train_dir}/text,text,text"
        --valid_data_path_and_name_and_type "${valid_dir}/${speech}"
        --valid_data_path_and_name_and_type "${valid_dir}/text,text,text"
    )
    # Several captions per clip (utt2captions, a JSON list): one is drawn each time it loads.
    if [ -f "${train_dir}/utt2captions" ]; then
        common_opts+=(--train_data_path_and_name_and_type "${train_dir}/utt2captions,captions,text")
    fi
}

# ---------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------
stage_1() {
    require_sets
    run_local_data wav.scp
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
    if [ -n "${finetune_dir}" ]; then
        require_train_config
        ${python} -m espnet2_slap.bin.slap_export_pretrained \
            --pretrained_model "${pretrained_model}" \
            --train_config "${train_config}" \
            --out_dir "${finetune_dir}" >/dev/null \
            || fail "cannot fine-tune from --pretrained_model ${pretrained_model} (see above)"
        log "Token list, BPE model and statistics of ${pretrained_model}: ${finetune_dir}"
        return 0
    fi
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

# dump_features: --feats_type fbank: the log-mels of the training and validation sets, once.
dump_features() {
    local dset fs_opts
    fs_opts=$(${python} scripts/check_frontend_fs.py --config "${train_config}" --fs "${fs_hz}" \
        --wav_scp "${dumpdir}/raw/${train_set}/wav.scp") \
        || fail "the frontend's sample rate does not match (see above)"
    for dset in ${train_set} ${valid_set}; do
        require_file "${dumpdir}/raw/${dset}/wav.scp" "run stages 2-3 first"
        # shellcheck disable=SC2086  # fs_opts is empty or "--frontend_conf fs=N"
        ${python} scripts/dump_fbank.py --config "${train_config}" ${fs_opts} \
            --data_dir "${dumpdir}/raw/${dset}" --out_dir "${dumpdir}/fbank/${dset}" \
            || fail "dumping the features of ${dset} failed"
    done
}

stage_5() {
    require_sets
    require_train_config
    require_file "${token_list}" "run stage 4 first"
    if [ "${feats_type}" = fbank ]; then
        dump_features
    fi
    local common_opts
    slap_train_common_opts
    # The statistics are of the raw features, so no normalization is built here; ESPnet's
    # sequence iterator reads the key files (the packing sampler needs shape files).
    # shellcheck disable=SC2086
    run_stats_jobs "${dumpdir}/raw/${train_set}" "${dumpdir}/raw/${valid_set}" "${stats_dir}" \
        ${python} -m espnet2_slap.bin.slap_train \
            --collect_stats true \
            "${common_opts[@]}" \
            --normalize none \
            --iterator_type sequence \
            --batch_type unsorted \
            ${train_args}
}

# --num_splits N > 1: the training data and shapes split into N shards by ESPnet's split_scps
# (once, into ${stats_dir}/splits<N>/); training then reads them with --multiple_iterator true.
# Rewrites common_opts' training data options and sets train_shape.
use_split_train_data() {
    local train_dir=${dumpdir}/raw/${train_set} split_dir=${stats_dir}/splits${num_splits}
    local scps=("${train_dir}/wav.scp" "${train_dir}/text") opts=() i
    [ -f "${train_dir}/utt2captions" ] && scps+=("${train_dir}/utt2captions")
    if [ ! -f "${split_dir}/.done" ]; then
        ${python} -m espnet2.bin.split_scps --num_splits "${num_splits}" \
            --output_dir "${split_dir}" --scps "${scps[@]}" "${stats_dir}/train/speech_shape" \
            || fail "splitting the training data into ${num_splits} shards failed"
        touch "${split_dir}/.done"
    fi
    for ((i = 0; i < ${#common_opts[@]}; i++)); do
        case ${common_opts[i]} in
            --train_data_path_and_name_and_type)  # <train_dir>/<file>,name,type
                opts+=("${common_opts[i]}" "${split_dir}/${common_opts[i + 1]#"${train_dir}/"}")
                i=$((i + 1)) ;;
            *) opts+=("${common_opts[i]}") ;;
        esac
    done
    common_opts=("${opts[@]}" --multiple_iterator true)
    train_shape=${split_dir}/speech_shape
    log "Training data: ${num_splits} shards in ${split_dir}"
}

stage_6() {
    require_sets
    require_train_config
    require_file "${stats_dir}/train/speech_shape" "run stage 5 first"
    local common_opts opts=() train_shape=${stats_dir}/train/speech_shape
    slap_train_common_opts
    [ "${num_splits}" -gt 1 ] && use_split_train_data
    if [ "${feats_normalize}" = global_mvn ]; then
        if [ -n "${finetune_dir}" ]; then  # the pretrained model's statistics
            require_file "${finetune_dir}/feats_stats.npz" \
                "the pretrained model has no GlobalMVN statistics"
            opts+=(--normalize global_mvn
                   --normalize_conf "stats_file=${finetune_dir}/feats_stats.npz")
        else
            opts+=(--normalize global_mvn
                   --normalize_conf "stats_file=${stats_dir}/train/feats_stats.npz")
        fi
    fi
    if [ -n "${finetune_dir}" ]; then
        require_file "${finetune_dir}/model.pth" "run stage 4 first (it exports --pretrained_model)"
        opts+=(--init_param "${finetune_dir}/model.pth")
    elif [ -n "${pretrained_model}" ]; then
        require_file "${pretrained_model%%:*}" "--pretrained_model names no model file"
        opts+=(--init_param "${pretrained_model}")
    fi
    if [ -n "${pretrained_model}" ]; then
        opts+=(--ignore_init_mismatch "${ignore_init_mismatch}")
    fi
    mkdir -p "${slap_exp}"
    log "Training log: ${slap_exp}/train.log"
    # ESPnet's launcher runs cuda_cmd with --gpu, and over --num_nodes machines with
    # slurm.pl/queue.pl; it adds --ngpu and --multiprocessing_distributed.
    # shellcheck disable=SC2086
    ${python} -m espnet2.bin.launch \
        --cmd "${cuda_cmd}" \
        --log "${slap_exp}/train.log" \
        --ngpu "${ngpu}" \
        --num_nodes "${num_nodes}" \
        --init_file_prefix "${slap_exp}/.dist_init_" \
        --multiprocessing_distributed true -- \
        ${python} -m espnet2_slap.bin.slap_train \
            "${common_opts[@]}" \
            "${opts[@]}" \
            --train_shape_file "${train_shape}" \
            --valid_shape_file "${stats_dir}/valid/speech_shape" \
            --resume true \
            --output_dir "${slap_exp}" \
            ${train_args} \
        || { show_failed_logs "${slap_exp}/train.log"; fail "training failed"; }
    grep "epoch results:" "${slap_exp}/train.log" | sed -e 's/^.*INFO: //' | tail -n 5 || true
}

stage_7() {
    require_exp
    if [ -z "${eval_sets// /}" ]; then
        log "no --test_sets and no --zeroshot_sets: nothing to infer"
        return 0
    fi
    local model_config model_file
    model_files
    local config_opts=() dset data dir jobs name
    [ -n "${inference_config}" ] && config_opts=(--config "${inference_config}")
    for dset in ${eval_sets}; do
        data=${dumpdir}/raw/${dset}
        dir=${inference_dir}/${dset}
        require_file "${data}/wav.scp" "run stages 2-3 first"
        if [ -d "${dir}" ]; then
            log "removing the previous inference output ${dir} (and its scores)"
        fi
        # shellcheck disable=SC2086
        run_inference_jobs "${data}" "${dir}" slap_inference \
            ${python} -m espnet2_slap.bin.slap_inference \
                --slap_train_config "${model_config}" \
                --slap_model_file "${model_file}" \
                --data_path_and_name_and_type "${data}/wav.scp,speech,sound" \
                --ngpu "${inference_ngpu}" \
                "${config_opts[@]}" \
                ${inference_args}
        for name in audio_embeds.scp text_embeds.scp captions; do
            [ -f "${dir}/logdir/output.1/${name}" ] || continue
            cat_jobs "${jobs}" "${dir}/logdir/output.JOB/${name}" | sort >"${dir}/${name}"
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
            --slap_train_config "${model_config}" \
            --slap_model_file "${model_file}" \
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
    if [ -z "${eval_sets// /}" ]; then
        log "no --test_sets and no --zeroshot_sets: nothing to score, no RESULTS.md written"
        return 0
    fi
    local model_config model_file dset
    model_files
    local rerank_opts=()
    if [ "${rerank_depth}" -gt 0 ]; then  # the mix weight is chosen on the validation set
        rerank_opts=(--rerank_depth "${rerank_depth}"
                     --rerank_valid_dir "${dumpdir}/raw/${valid_set}")
    fi
    for dset in ${test_sets}; do
        score_set "${dset}" retrieval "${rerank_opts[@]}"
    done
    for dset in ${zeroshot_sets}; do
        require_file "${dumpdir}/raw/${dset}/labels" "a zero-shot set needs labels and utt2label"
        score_set "${dset}" zeroshot --labels "${dumpdir}/raw/${dset}/labels"
    done
    ${python} scripts/make_results_md.py \
        --exp_dir "${slap_exp}" \
        --train_config "${train_config:-${model_config}}" \
        --model_file "${model_file}" \
        --output "${slap_exp}/RESULTS.md"
    log "Results: ${slap_exp}/RESULTS.md"
}

# The packed model of stage 9: named after the experiment and the model file, like ESPnet's.
packed_model=${slap_exp}/${slap_exp##*/}_${inference_model%.pth}.zip

# write_model_card OUTPUT MODEL_TAG [OPTIONS...]: scripts/make_model_card.py with this run's
# settings; prints the images the card links to.
write_model_card() {
    local output=$1 model_tag=$2
    shift 2
    # shellcheck disable=SC2086  # word splitting of the option string is intended
    ${python} scripts/make_model_card.py \
        --exp_dir "${slap_exp}" \
        --model_file "${inference_model}" \
        --model_tag "${model_tag}" \
        --train_config "${train_config}" \
        --train_args "${train_args}" \
        --output "${output}" \
        --list_images \
        "$@" \
        ${model_card_opts} \
        || fail "writing the model card ${output} failed"
}

stage_9() {
    require_exp
    require_file "${slap_exp}/${inference_model}" "train first (stage 6)"
    local opts=() images image
    if [ -f "${slap_exp}/RESULTS.md" ]; then
        opts+=(--option "${slap_exp}/RESULTS.md")
    else
        log "warning: no ${slap_exp}/RESULTS.md (stage 8); packing without results"
    fi
    # The card's usage example loads the Hub repository when there is one, else the zip.
    images=$(write_model_card "${slap_exp}/README.md" "${hf_repo:-${packed_model##*/}}") || exit 1
    for image in ${images}; do
        opts+=(--option "${image}")
    done
    opts+=(--option "${slap_exp}/README.md")
    [ -d "${slap_exp}/images" ] && opts+=(--option "${slap_exp}/images")
    ${python} -m espnet2_slap.bin.slap_pack \
        --slap_train_config "${slap_exp}/config.yaml" \
        --slap_model_file "${slap_exp}/${inference_model}" \
        "${opts[@]}" \
        --outpath "${packed_model}"
    log "Packed model: ${packed_model} (model card: ${slap_exp}/README.md)"
}

stage_10() {
    require_exp
    [ -n "${hf_repo}" ] || fail "stage 10 uploads to --hf_repo <user>/<name>, which is empty"
    command -v hf >/dev/null \
        || fail "the 'hf' command (pip install huggingface_hub) is not on PATH: nothing uploaded"
    require_file "${packed_model}" "run stage 9 first"
    local upload_dir=${slap_exp}/hf_upload
    fresh_dir "${upload_dir}"
    ${python} -m zipfile -e "${packed_model}" "${upload_dir}"
    # The Hub shows the README.md at the repository root; its links point into the archive,
    # which holds the experiment's files under their paths relative to this directory.
    write_model_card "${upload_dir}/README.md" "${hf_repo}" --link_prefix "${slap_exp}/" >/dev/null
    HF_HUB_OFFLINE=0 hf upload --repo-type model "${hf_repo}" "${upload_dir}" . \
        --commit-message "Upload ${slap_exp##*/}" \
        || fail "uploading ${upload_dir} to https://huggingface.co/${hf_repo} failed (see above;" \
            "'hf auth login' stores a token, and the machine needs network)"
    log "Uploaded ${upload_dir} to https://huggingface.co/${hf_repo}"
}

# ---------------------------------------------------------------------------------------------
# Driver: run stages ${stage}..${stop_stage}, timing each one (run_stages in scripts/lib.sh)
# ---------------------------------------------------------------------------------------------
stage_titles=(
    [1]="Data preparation (local/data.sh)"
    [2]="Format audio (${fs} mono ${audio_format})"
    [3]="Filter by duration and validate data directories"
    [4]="Token list (sentencepiece ${bpemode}, nbpe=${nbpe})"
    [5]="Collect feature statistics"
    [6]="Training (${slap_exp})"
    [7]="Inference (${inference_dir})"
    [8]="Scoring"
    [9]="Packing"
    [10]="Upload to the Hugging Face Hub"
)

# more_skip_reasons N (read by skip_reason): --download_model skips training and packing.
more_skip_reasons() {
    if [ -n "${download_model}" ] && { in_range "$1" 5-6 || in_range "$1" 9-10; }; then
        echo "--download_model ${download_model} is evaluated, not trained or packed"
    fi
}

run_stages
