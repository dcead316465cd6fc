#!/usr/bin/env bash
# mini_sounds demo: SLAP and its contrastive-only ablation on a small corpus of real
# recordings, compared side by side in exp/RESULTS.md (./run.sh --help).
set -euo pipefail

# log, args_suffix, ...: the template's shell library
# shellcheck source=../../TEMPLATE/slap1/scripts/lib.sh
. "$(dirname "$0")/scripts/lib.sh"

SECONDS=0
stage=1               # first slap.sh stage
stop_stage=10000      # last slap.sh stage; the comparison runs when it is 8 or more
run_ablation=true     # also train and score the contrastive-only model (from stage 6)
compare=false         # instead: Table 5 at small scale, 4 objectives x seeds -> exp/COMPARE.md
compare_seeds="1 2 3" # the seeds of --compare

slap_config=conf/train_slap_tiny.yaml
ablation_config=conf/train_slap_tiny_clap_only.yaml
common_opts=(
    --train_set train
    --valid_set valid
    --test_sets "test"
    --zeroshot_sets "zeroshot_test"
    --nbpe 500
    --nj 2
    --inference_nj 2
    --ngpu 0
)

help_message="Usage: $0 [options]

mini_sounds demo: SLAP (contrastive + self-distillation + captioning) on a small corpus of
real recordings from Debian packages, the contrastive-only ablation with the same data,
statistics and seed, and a side-by-side comparison in exp/RESULTS.md.

  $0                                   # everything, on CPU
  $0 --stage 1 --stop_stage 4          # data preparation only
  $0 --run_ablation false              # SLAP only
  $0 --ngpu 1 --gpu_inference true     # any other slap.sh option is passed on
  $0 --compare true                    # full, no SSL, no captioning, CLAP only, 3 seeds each

Options of run.sh: --stage N [${stage}], --stop_stage N [${stop_stage}],
  --run_ablation true|false [${run_ablation}],
  --compare true|false: after stages 1-5, train and score (stages 6-8) the full objective,
    no SSL, no captioning and CLAP only with each seed of --compare_seeds "${compare_seeds}"
    (same data, statistics and steps; about 2 hours on 2 CPU cores for 3 seeds), and write
    exp/COMPARE.md with each metric's mean and spread [${compare}];
  every other option goes to slap.sh
  except --train_config, --tag and --download_model (run.sh trains two configs
  of its own; run slap.sh directly for those). The options of slap.sh:
"
for arg in "$@"; do
    case "${arg}" in
        -h | --help) echo "${help_message}"; "$(dirname "$0")/slap.sh" --help; exit 0 ;;
    esac
done
if [ ! -f ./slap.sh ] || [ ! -f ./path.sh ]; then
    echo "run.sh: error: run me from the recipe directory: cd $(dirname "$0") && ./run.sh" >&2
    exit 1
fi

# Options come in "--name value" pairs: ours are kept here, the rest go to slap.sh. The
# comparison needs --expdir, --dumpdir, --train_args and --skip_eval, which slap.sh also gets.
expdir=exp
dumpdir=dump
train_args=
skip_eval=false
slap_opts=()
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || { echo "run.sh: error: option '$1' needs a value" >&2; exit 1; }
    case "$1" in
        --stage) stage=$2 ;;
        --stop_stage | --stop-stage) stop_stage=$2 ;;
        --run_ablation | --run-ablation) run_ablation=$2 ;;
        --compare) compare=$2 ;;
        --compare_seeds | --compare-seeds) compare_seeds=$2 ;;
        --tag | --train_config | --train-config | --download_model | --download-model)
            echo "run.sh: error: run.sh trains ${slap_config} and ${ablation_config} under" \
                "names of its own, so it cannot pass $1 on; run ./slap.sh directly" \
                "(./slap.sh --help)" >&2
            exit 1
            ;;
        *)
            case "$1" in
                --expdir) expdir=$2 ;;
                --dumpdir) dumpdir=$2 ;;
                --train_args | --train-args) train_args=$2 ;;
                --skip_eval | --skip-eval) skip_eval=$2 ;;
            esac
            slap_opts+=("$1" "$2")
            ;;
    esac
    shift 2
done
[[ "${stage}" =~ ^[0-9]+$ ]] || { echo "run.sh: error: --stage takes a number" >&2; exit 1; }
[[ "${stop_stage}" =~ ^[0-9]+$ ]] || { echo "run.sh: error: --stop_stage takes a number" >&2; exit 1; }
for flag in run_ablation compare; do
    case "${!flag}" in
        true | false) ;;
        *) echo "run.sh: error: --${flag} takes true or false" >&2; exit 1 ;;
    esac
done

# The experiment directory slap.sh derives from a config and --train_args (same rule).
exp_dir_of() {
    echo "${expdir}/slap_$(basename "$1" .yaml)$(args_suffix "${train_args}")"
}

if ${compare}; then
    # Table 5 at small scale: every objective on the same data, statistics and token budget,
    # hence the same optimizer steps; only the seed (init, masks, batches) changes.
    declare -A variants=([full]="" [no_ssl]="--ssl none" [no_cap]="--caption_decoder none"
                         [clap_only]="--ssl none --caption_decoder none")
    names=(full no_ssl no_cap clap_only)
    log "compare: stages 1-5 once, then ${names[*]} x seeds ${compare_seeds}"
    ./slap.sh "${common_opts[@]}" --train_config "${slap_config}" \
        --stage "${stage}" --stop_stage 5 "${slap_opts[@]}"
    groups=()
    for name in "${names[@]}"; do
        groups+=(--group "${name}")
        for seed in ${compare_seeds}; do
            args="${train_args} --seed ${seed} ${variants[${name}]}"
            log "compare: ${name}, seed ${seed}"
            ./slap.sh "${common_opts[@]}" --train_config "${slap_config}" \
                --stage 6 --stop_stage 8 "${slap_opts[@]}" --train_args "${args}" \
                --skip_packing true --skip_upload true
            groups+=("$(train_args=${args} exp_dir_of "${slap_config}")")
        done
    done
    # shellcheck source=/dev/null  # (activates the venv)
    . ./path.sh
    python scripts/compare_seeds.py "${groups[@]}" --test_set test \
        --zeroshot_set zeroshot_test --output "${expdir}/COMPARE.md" \
        --title "mini_sounds: Table 5 at small scale (seeds ${compare_seeds})"
    log "Comparison over seeds: ${expdir}/COMPARE.md (took ${SECONDS}s)"
    exit 0
fi

start=${SECONDS}
log "SLAP (${slap_config}): stages ${stage}-${stop_stage}"
# SLAP's text-to-audio retrieval is also re-ranked by caption likelihood (top 10; about a
# minute of scoring with the weight chosen on valid); the ablation has no decoder to do it.
./slap.sh "${common_opts[@]}" \
    --train_config "${slap_config}" \
    --stage "${stage}" \
    --stop_stage "${stop_stage}" \
    --rerank_depth 10 \
    "${slap_opts[@]}"
log "SLAP done (took $(( SECONDS - start ))s)"

if ${run_ablation} && [ "${stop_stage}" -ge 6 ]; then
    start=${SECONDS}
    ablation_stage=$(( stage > 6 ? stage : 6 ))
    log "Contrastive-only ablation (${ablation_config}): stages ${ablation_stage}-${stop_stage}"
    ./slap.sh "${common_opts[@]}" \
        --train_config "${ablation_config}" \
        --stage "${ablation_stage}" \
        --stop_stage "${stop_stage}" \
        "${slap_opts[@]}" \
        --skip_data_prep true \
        --skip_packing true \
        --skip_upload true
    log "Ablation done (took $(( SECONDS - start ))s)"
fi

if ${run_ablation} && [ "${stop_stage}" -ge 8 ] && [ "${skip_eval}" != true ]; then
    # shellcheck source=/dev/null  # (activates the venv)
    . ./path.sh
    python scripts/compare_results.py \
        --exp_dirs "$(exp_dir_of "${slap_config}")" "$(exp_dir_of "${ablation_config}")" \
        --names "SLAP (CLAP + SSL + captioning)" "CLAP only" \
        --data_root "${dumpdir}/raw" \
        --title "mini_sounds: SLAP vs. the contrastive-only ablation" \
        --output "${expdir}/RESULTS.md"
    # Where the sound is: the SLAP model's per-step similarity on clips joined from
    # single-source zero-shot clips at known offsets, against uniform and energy baselines.
    slap_exp=$(exp_dir_of "${slap_config}")
    python -m espnet2_slap.bin.slap_locate_eval --model "${slap_exp}" \
        --data_dir "${dumpdir}/raw/zeroshot_test" --output_dir "${slap_exp}/locate"
    { cat "${expdir}/RESULTS.md"; echo
      echo "## Where the sound is (SLAP model, \`${slap_exp}/locate/\`)"; echo
      sed -e '1{/^# /d}' "${slap_exp}/locate/results.md"
      for score in "${slap_exp}"/inference_*/test/score/results.md; do  # --rerank_depth
          awk '/^### Text-to-audio re-ranking/ { on = 1; print "\n## SLAP: " substr($0, 5); next }
               /^### / { on = 0 } on' "${score}"
      done; } > "${expdir}/RESULTS.md.partial"
    mv "${expdir}/RESULTS.md.partial" "${expdir}/RESULTS.md"
    log "Comparison: ${expdir}/RESULTS.md"
fi
log "Finished (took ${SECONDS}s)"
