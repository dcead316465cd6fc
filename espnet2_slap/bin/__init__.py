"""Command-line entry points (`python -m espnet2_slap.bin.<name>`)."""
