# shellcheck shell=bash
# Job runners of the recipe stages. utils/run.pl runs every job on this machine, in parallel,
# with one log file per job; --mem and --gpu requests are accepted and ignored there.
#
#   train_cmd:  data preparation, statistics, tokenization
#   cuda_cmd:   training (slap.sh passes --gpu <ngpu>)
#   decode_cmd: inference and scoring
export train_cmd="utils/run.pl"
export cuda_cmd="utils/run.pl"
export decode_cmd="utils/run.pl"
