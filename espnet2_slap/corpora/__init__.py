"""Preparation of the official corpus releases into Kaldi-style data directories.

One module per corpus (``python -m espnet2_slap.corpora.<corpus> --help``); what they share
is in :mod:`espnet2_slap.corpora.kaldi_dir`.
"""
