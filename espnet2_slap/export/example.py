"""Score text queries against audio files with the exported SLAP model, without PyTorch.

    pip install onnxruntime tokenizers numpy soundfile
    python example.py dog.wav bell.flac --query "a dog barks" --query "a bell rings"

Files are read with soundfile, mixed to mono; they must be at the model's rate (16 kHz).
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from slap_onnx import SLAPOnnx  # noqa: E402  (this folder's runtime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("audio", nargs="+", help="audio files at the model's sample rate")
    parser.add_argument("--query", action="append", required=True, help="text (repeatable)")
    args = parser.parse_args()
    slap = SLAPOnnx(Path(__file__).resolve().parent)
    text = slap.embed_text(args.query)  # (Q, D)
    for path in args.audio:
        wave, rate = soundfile.read(path, dtype="float32", always_2d=True)
        if rate != slap.sample_rate:
            raise SystemExit(f"{path}: {rate} Hz; resample to {slap.sample_rate} Hz first")
        scores = text @ slap.embed_audio(wave.mean(axis=1))  # cosine similarity per query
        print(path)
        for query, score in sorted(zip(args.query, scores), key=lambda item: -item[1]):
            print(f"  {score:+.3f}  {query}")


if __name__ == "__main__":
    main()
