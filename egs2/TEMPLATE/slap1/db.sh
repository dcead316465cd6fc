# shellcheck shell=bash
# Corpus locations: one variable per corpus, named after it in capitals, pointing at the
# folder the corpus was downloaded or unpacked to. local/data.sh sources this file and stops
# with a message naming the variable when it is empty or the folder has the wrong layout.
# Set the ones your recipe needs, e.g.
#
#   CLOTHO=/data/clotho
#   AUDIOCAPS=/data/audiocaps
MYCORPUS=${MYCORPUS:-}
