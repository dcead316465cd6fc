#!/usr/bin/env python3
"""Training compute the paper's scale implies, from the paper config's parameter counts.

    tools/venv/bin/python tools/bench/paper_compute_estimate.py [--mfu 0.25 --peak_tflops 312]

An estimate, not a measurement: FLOPs = 6 x parameters x tokens per trained pass (2 x for a
forward-only pass). Per clip: the audio encoder's unmasked and masked student passes (6 x) and
the teacher pass (2 x) over its patch tokens (4 per 16 frames of 10 ms), the SSL head on the
masked half (student, 6 x) and all tokens (teacher, 2 x), the text encoder over ~30 caption
tokens (ModernBERT-base: ~110M parameters outside the embeddings, from its model card) and the
caption decoder over ~30 tokens. Attention score FLOPs are left out (a few % at these lengths).
The audio encoder, SSL head and caption decoder are built from ``conf/slap_paper.yaml`` to
count their parameters.
"""

import argparse
import math
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
TEXT_ENCODER_PARAMS = 110e6  # ModernBERT-base without its embeddings (model card: 149M total)
CAPTION_TOKENS = 30
HOP_SECONDS = 0.01

# (name, clips per pass, passes, mean seconds per clip after the 30 s crop)
RUNS = [
    ("paper: MovieGen 109M pairs x 2 epochs, 10 s clips", 109e6, 2, 10.0),
    ("paper: MovieGen 109M pairs x 2 epochs, 30 s clips", 109e6, 2, 30.0),
    ("egs2/wavcaps/slap1: ~450k clips x 20 epochs, ~20 s", 450e3, 20, 20.0),
    ("egs2/audiocaps/slap1: 49.8k clips x 20 epochs, 10 s", 49.8e3, 20, 10.0),
    ("egs2/clotho/slap1: 3839 clips x 40 epochs, ~22 s", 3839, 40, 22.0),
]


def parameter_counts():
    from espnet2_slap.audio.slap_encoder import SLAPAudioEncoder
    from espnet2_slap.decoder.transformer_caption_decoder import TransformerCaptionDecoder
    from espnet2_slap.ssl.head import SSLProjectionHead

    config = yaml.safe_load((REPO / "conf" / "slap_paper.yaml").read_text())
    encoder = SLAPAudioEncoder(input_size=64, **config["audio_encoder_conf"])
    head = SSLProjectionHead(input_size=encoder.output_size(), **config["ssl_conf"]["head_conf"])
    decoder = TransformerCaptionDecoder(vocab_size=5000, memory_size=encoder.output_size(),
                                        **config["caption_decoder_conf"])
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    return count(encoder), count(head), count(decoder), config["audio_encoder_conf"]["patch_size"]


def tflops_per_clip(seconds, encoder, head, decoder, patch_size):
    frames = int(seconds / HOP_SECONDS) + 1
    tokens = math.ceil(frames / patch_size) * (64 // patch_size)
    audio = (6 + 6 + 2) * encoder * tokens + (6 * 0.5 + 2) * head * tokens
    text = 6 * (TEXT_ENCODER_PARAMS + decoder) * CAPTION_TOKENS
    return (audio + text) / 1e12, tokens


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peak_tflops", type=float, default=312.0,
                        help="the GPU's dense bf16 peak (A100: 312, H100 SXM: 989)")
    parser.add_argument("--mfu", type=float, default=0.25, help="achieved fraction of the peak")
    args = parser.parse_args()
    encoder, head, decoder, patch_size = parameter_counts()
    print(f"parameters: audio encoder {encoder / 1e6:.0f}M, SSL head {head / 1e6:.0f}M, caption "
          f"decoder {decoder / 1e6:.0f}M, text encoder ~{TEXT_ENCODER_PARAMS / 1e6:.0f}M")
    achieved = args.peak_tflops * args.mfu
    print(f"| run | TFLOP per clip | clip passes | GPU-hours at {achieved:.0f} TFLOP/s |")
    print("|---|---:|---:|---:|")
    for name, clips, passes, seconds in RUNS:
        per_clip, _ = tflops_per_clip(seconds, encoder, head, decoder, patch_size)
        hours = clips * passes * per_clip / achieved / 3600
        print(f"| {name} | {per_clip:.2f} | {clips * passes / 1e6:.2f}M | {hours:,.1f} |")


if __name__ == "__main__":
    main()
