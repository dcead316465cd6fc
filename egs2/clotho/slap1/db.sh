# shellcheck shell=bash
# Where the corpora are. Set the variable here or in the environment (CLOTHO=/data/clotho ./run.sh).
#
# CLOTHO: Clotho v2.1 (https://zenodo.org/records/4783391): clotho_captions_<split>.csv beside
#   the folders development/ validation/ evaluation/ that clotho_audio_<split>.7z unpack to;
#   aac-datasets' CLOTHO_v2.1/ (clotho_csv_files/, clotho_audio_files/<split>/) works too.
CLOTHO=${CLOTHO:-}
