"""Builder of the mini_sounds demo corpus: real recordings from Debian packages and
synthesized renderings, cut into honest captions and composed into Kaldi-style data dirs.

Modules, in pipeline order:
    catalog_files, catalog_synth    curated labels and caption phrases of every source
    package_sources, synth_sources  inventory and rendering of those sources (midi: SMF writer)
    sources                         source records and the inventory / sources tables
    audio                           decoding, 16 kHz resampling, trimming, normalisation
    prepare                         turns all sources into 16 kHz wavs + ``inventory.tsv``
    split                           train / valid / test assignment by source recording
    captions, compose               clip composition with several reference captions
    stages, kaldi_dir, summary      split / compose stages, data-dir writing, audit
"""

SAMPLE_RATE = 16000
