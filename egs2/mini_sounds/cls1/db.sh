# shellcheck shell=bash
# mini_sounds needs no corpus location: the tagging sets are made from the demo corpus that
# egs2/mini_sounds/slap1/local/data.sh builds from Debian packages (see its CORPUS.md).
