# shellcheck shell=bash
# shellcheck disable=SC2154  # the callers' options: python, nj, fs_hz, audio_format, train_cmd
# Functions shared by the recipe templates slap.sh and slapcls.sh, which source this file
# first (it is never run on its own). Messages carry the running script's name. Functions that
# read the caller's options or arrays say which.

# log MESSAGE...: one time-stamped line on stdout.
log() {
    echo "$(date '+%Y-%m-%dT%H:%M:%S') [${0##*/}] $*"
}

# fail MESSAGE...: one time-stamped "error:" line on stderr, then exit 1.
fail() {
    echo "$(date '+%Y-%m-%dT%H:%M:%S') [${0##*/}] error: $*" >&2
    exit 1
}

# help_requested ARG...: whether -h or --help is one of the options, read as
# utils/parse_options.sh reads them ("--name value" pairs up to the first other word), so that
# a template prints its help before it checks, sources or writes anything.
help_requested() {
    while [ $# -gt 0 ]; do
        case "$1" in
            -h | --help) return 0 ;;
            --) return 1 ;;
            --*) [ $# -ge 2 ] || return 1; shift 2 ;;
            *) return 1 ;;
        esac
    done
    return 1
}

# min N...: the smallest of the numbers.
min() {
    local smallest=$1 value
    shift
    for value in "$@"; do
        [ "${value}" -lt "${smallest}" ] && smallest=${value}
    done
    echo "${smallest}"
}

# args_suffix OPTIONS: an option string as a name suffix: "--max_epoch 2" -> "_max_epoch2".
args_suffix() {
    echo "$1" | sed -e 's/--/_/g' -e 's/[ |=/]//g'
}

# rate_in_hz RATE: a sample rate given as 16k or 16000, in Hz; fails naming --fs otherwise.
rate_in_hz() {
    local hz=$1
    case "$1" in
        *k) hz=$(awk -v rate="${1%k}" 'BEGIN { printf "%d", rate * 1000 }') ;;
    esac
    [[ "${hz}" =~ ^[1-9][0-9]*$ ]] || fail "--fs must be like 16k or 16000, got '$1'"
    echo "${hz}"
}

# require_file FILE WHY: stop with "FILE is missing: WHY" unless FILE exists.
require_file() {
    [ -f "$1" ] || fail "$1 is missing: $2"
}

# fresh_dir DIR [MAKE]: remove DIR, then make MAKE (default DIR, or a folder below it). One
# error line naming DIR when either fails (a read-only folder or disk), never rm's own lines.
fresh_dir() {
    local dir=$1 make=${2:-$1} message
    if ! message=$(rm -rf "${dir}" 2>&1 && mkdir -p "${make}" 2>&1); then
        message=$(echo "${message}" | head -n 1)
        fail "cannot remove and make again the folder ${dir} (${message##*: }):" \
            "is it, or its disk, read-only?"
    fi
}

# threads_per_job JOBS: OpenMP threads for each of JOBS parallel jobs: an equal share of the
# cores, or OMP_NUM_THREADS when the user set it.
threads_per_job() {
    local cores
    cores=$(nproc)
    echo "${OMP_NUM_THREADS:-$(( cores / $1 > 0 ? cores / $1 : 1 ))}"
}

# inference_runner: set inference_cmd and inference_ngpu from the caller's --gpu_inference,
# cuda_cmd and decode_cmd.
inference_runner() {
    if ${gpu_inference}; then
        inference_cmd=${cuda_cmd}
        inference_ngpu=1
    else
        inference_cmd=${decode_cmd}
        inference_ngpu=0
    fi
}

# show_failed_logs LOG...: the end of every job log that run.pl marked as failed, on stderr.
show_failed_logs() {
    local file
    for file in "$@"; do
        if [ -f "${file}" ] && grep -q '^# Ended (code [1-9]' "${file}"; then
            echo "----- last lines of ${file}:" >&2
            tail -n 25 "${file}" >&2
        fi
    done
}

# split_for_jobs SCP PREFIX JOBS: SCP in JOBS contiguous parts PREFIX.1.scp .. PREFIX.JOBS.scp.
split_for_jobs() {
    # shellcheck disable=SC2046  # one file name per part
    ${python} scripts/split_scp.py "$1" $(seq -f "$2.%g.scp" "$3")
}

# cat_jobs JOBS PATTERN: the files PATTERN names with JOB replaced by 1 .. JOBS, in turn.
cat_jobs() {
    local n
    for n in $(seq "$1"); do
        cat "${2//JOB/${n}}"
    done
}

# job_keys SCP LOGDIR MAX_JOBS: the keys of SCP for min(MAX_JOBS, its lines) jobs in
# LOGDIR/keys.N.scp; sets the caller's jobs to their number.
job_keys() {
    jobs=$(min "$3" "$(wc -l <"$1")")
    split_for_jobs "$1" "$2/keys" "${jobs}"
}

# run_stats_jobs TRAIN_DIR VALID_DIR STATS_DIR PROGRAM...: the statistics stage of both
# templates. PROGRAM (a trainer with --collect_stats true and its options) runs in --nj jobs
# (fewer for a small set), each on the utterances of its key files STATS_DIR/logdir/
# {train,valid}.N.scp; ESPnet's aggregate_stats_dirs merges their outputs into STATS_DIR.
run_stats_jobs() {
    local train_dir=$1 valid_dir=$2 stats_dir=$3 logdir=$3/logdir jobs n inputs=()
    shift 3
    jobs=$(min "${nj}" "$(wc -l <"${train_dir}/wav.scp")" "$(wc -l <"${valid_dir}/wav.scp")")
    fresh_dir "${logdir}"
    split_for_jobs "${train_dir}/wav.scp" "${logdir}/train" "${jobs}"
    split_for_jobs "${valid_dir}/wav.scp" "${logdir}/valid" "${jobs}"
    OMP_NUM_THREADS=$(threads_per_job "${jobs}") \
    ${train_cmd} JOB=1:"${jobs}" "${logdir}/stats.JOB.log" "$@" \
            --train_shape_file "${logdir}/train.JOB.scp" \
            --valid_shape_file "${logdir}/valid.JOB.scp" \
            --output_dir "${logdir}/stats.JOB" \
        || { show_failed_logs "${logdir}"/stats.*.log; fail "collecting statistics failed"; }
    for n in $(seq "${jobs}"); do
        inputs+=(--input_dir "${logdir}/stats.${n}")
    done
    ${python} -m espnet2.bin.aggregate_stats_dirs "${inputs[@]}" --output_dir "${stats_dir}"
    require_file "${stats_dir}/train/speech_shape" "aggregate_stats_dirs wrote no shapes"
    log "Statistics: ${stats_dir} (${jobs} jobs)"
}

# run_inference_jobs DATA_DIR OUT_DIR NAME PROGRAM...: the inference stage of both templates on
# one set. OUT_DIR is emptied, then PROGRAM (an inference CLI and its options) runs in
# --inference_nj jobs on DATA_DIR/wav.scp, each with --key_file OUT_DIR/logdir/keys.N.scp and
# --output_dir OUT_DIR/logdir/output.N, logs OUT_DIR/logdir/NAME.N.log. Sets the caller's jobs.
run_inference_jobs() {
    local data=$1 dir=$2 name=$3 logdir=$2/logdir
    shift 3
    fresh_dir "${dir}" "${logdir}"
    job_keys "${data}/wav.scp" "${logdir}" "${inference_nj}"
    OMP_NUM_THREADS=$(threads_per_job "${jobs}") \
    ${inference_cmd} --gpu "${inference_ngpu}" JOB=1:"${jobs}" "${logdir}/${name}.JOB.log" "$@" \
            --key_file "${logdir}/keys.JOB.scp" \
            --output_dir "${logdir}/output.JOB" \
        || { show_failed_logs "${logdir}/${name}".*.log; fail "inference on ${data##*/} failed"; }
}

# run_local_data FILE...: stage 1 of both templates: local/data.sh with --local_data_opts,
# then every set of ${all_sets} must hold each FILE.
run_local_data() {
    local dset file
    [ -x local/data.sh ] || fail "local/data.sh is missing or not executable"
    # shellcheck disable=SC2086  # word splitting of the option string is intended
    local/data.sh ${local_data_opts}
    for dset in ${all_sets}; do
        for file in "$@"; do
            [ -f "data/${dset}/${file}" ] || fail "local/data.sh did not write data/${dset}/${file}"
        done
    done
}

# format_data_dir SRC DST: SRC's audio as ${fs_hz} Hz mono ${audio_format} under DST, in --nj
# jobs of scripts/format_wav_scp.py, with SRC's other files. wav.scp is written last, so a DST
# without it is incomplete.
format_data_dir() {
    local src=$1 dst=$2
    local logdir=${dst}/logdir jobs file
    require_file "${src}/wav.scp" "run stage 1 first"
    fresh_dir "${dst}" "${logdir}"
    job_keys "${src}/wav.scp" "${logdir}" "${nj}"
    OMP_NUM_THREADS=$(threads_per_job "${jobs}") \
    ${train_cmd} JOB=1:"${jobs}" "${logdir}/format_wav_scp.JOB.log" \
        ${python} scripts/format_wav_scp.py \
            --fs "${fs_hz}" \
            --audio_format "${audio_format}" \
            --audio_dir "${dst}/data/format.JOB" \
            --out_wav_scp "${logdir}/wav.JOB.scp" \
            --out_num_samples "${logdir}/utt2num_samples.JOB" \
            "${logdir}/keys.JOB.scp" \
        || { show_failed_logs "${logdir}"/format_wav_scp.*.log; fail "formatting ${src} failed"; }
    for file in "${src}"/*; do
        case "$(basename "${file}")" in
            wav.scp | utt2num_samples) ;;
            *) [ -f "${file}" ] && cp "${file}" "${dst}/" ;;
        esac
    done
    cat_jobs "${jobs}" "${logdir}/utt2num_samples.JOB" | sort >"${dst}/utt2num_samples"
    cat_jobs "${jobs}" "${logdir}/wav.JOB.scp" | sort >"${dst}/wav.scp.tmp"
    mv "${dst}/wav.scp.tmp" "${dst}/wav.scp"
    log "${src} -> ${dst}: $(wc -l <"${src}/wav.scp") utterances, ${audio_format} at" \
        "${fs_hz} Hz (${jobs} jobs)"
}

# in_range N RANGE: whether stage N is in RANGE ("5-6" or "9").
in_range() {
    [ "$1" -ge "${2%-*}" ] && [ "$1" -le "${2#*-}" ]
}

# skip_reason N: the option that skips stage N: a --skip_<flag> of the caller's skip_stages
# (flag -> stage range), else what the caller's more_skip_reasons N says, if it defines one.
skip_reason() {
    local flag option
    for flag in "${!skip_stages[@]}"; do
        option=skip_${flag}
        if ${!option} && in_range "$1" "${skip_stages[${flag}]}"; then
            echo "--${option} true"
            return 0
        fi
    done
    if declare -F more_skip_reasons >/dev/null; then
        more_skip_reasons "$1"
    fi
    true
}

# run_stages: the driver of both templates: stage_N for N in --stage .. --stop_stage, titled by
# the caller's stage_titles (index: stage number), skipped as skip_reason says, each timed.
run_stages() {
    [[ "${stage}" =~ ^[0-9]+$ ]] || fail "--stage must be a number, got '${stage}'"
    [[ "${stop_stage}" =~ ^[0-9]+$ ]] || fail "--stop_stage must be a number, got '${stop_stage}'"
    local stage_number stage_title stage_start reason last_stage
    last_stage=$(min "${stop_stage}" "${#stage_titles[@]}")
    for stage_number in $(seq "$(( stage > 1 ? stage : 1 ))" "${last_stage}"); do
        stage_title="Stage ${stage_number}: ${stage_titles[stage_number]}"
        reason=$(skip_reason "${stage_number}")
        if [ -n "${reason}" ]; then
            log "${stage_title}: skipped (${reason})"
            continue
        fi
        stage_start=${SECONDS}
        log "${stage_title}"
        "stage_${stage_number}"
        log "${stage_title}: done (took $(( SECONDS - stage_start ))s)"
    done
    log "Successfully finished (took ${SECONDS}s)"
}
