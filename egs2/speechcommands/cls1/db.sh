# shellcheck shell=bash
# Corpus location; a value already in the environment wins. SPEECHCOMMANDS is the unpacked
# speech_commands_v0.02 folder (word folders, validation_list.txt, testing_list.txt).
SPEECHCOMMANDS=${SPEECHCOMMANDS:-}
# For --protocol 12 only (optional): the separate speech_commands_test_set_v0.02 folder.
SPEECHCOMMANDS_TEST=${SPEECHCOMMANDS_TEST:-}
