"""Export a trained SLAP model to ONNX: the audio tower from 16 kHz waveform to embedding
(front end included) and the text tower with its tokenizer, plus a runtime and an example.

    python -m espnet2_slap.bin.slap_export_onnx --model packed_model.zip --out slap_onnx/
    python slap_onnx/example.py dog.wav --query "a dog barks"      # onnxruntime, no PyTorch

After writing, the export is checked: onnxruntime's embeddings of a few clips (0.5-40 s) and
captions against ``SLAPInference``'s, as cosine distances (an error above ``--tolerance``).
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True,
                        help="packed .zip (slap_pack), experiment dir or model-zoo tag")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default: 17)")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip the onnxruntime vs PyTorch check")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="largest cosine distance the check accepts (default: 1e-4)")
    return parser


def check_export(slap, out_dir: Path, seconds=(0.5, 3.7, 30.0, 41.0)) -> float:
    """Largest cosine distance between onnxruntime and ``slap`` on noise-and-tone clips of
    ``seconds`` and a few captions."""
    from espnet2_slap.export.onnx_runtime import SLAPOnnx

    runtime = SLAPOnnx(out_dir)
    rng = np.random.default_rng(0)
    worst = 0.0
    for duration in seconds:
        t = np.arange(int(duration * slap.sample_rate)) / slap.sample_rate
        wave = (0.05 * rng.standard_normal(t.size) + 0.2 * np.sin(2 * np.pi * 440 * t))
        wave = wave.astype(np.float32)
        reference = slap.embed_audio(wave, slap.sample_rate)[0]
        worst = max(worst, 1.0 - float(runtime.embed_audio(wave) @ reference))
    texts = ["a dog barks", "", "rain falls on a tin roof while a man speaks " * 6]
    distances = 1.0 - np.sum(runtime.embed_text(texts) * slap.embed_text(texts), axis=1)
    return max(worst, float(distances.max()))


def main(cmd: Optional[List[str]] = None) -> int:
    from espnet2_slap.export.onnx_export import export_onnx
    from espnet2_slap.inference.slap_inference import SLAPInference

    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        slap = SLAPInference.from_pretrained(args.model, device="cpu")
        export_onnx(slap, args.out, args.opset)
    except (FileNotFoundError, ValueError) as err:
        print(f"slap_export_onnx: error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: audio.onnx, text.onnx, tokenizer/, slap_onnx.py, example.py")
    if args.check:
        distance = check_export(slap, Path(args.out))
        print(f"onnxruntime vs PyTorch: largest cosine distance {distance:.2e}")
        if distance > args.tolerance:
            print(f"slap_export_onnx: error: the export differs by more than {args.tolerance}",
                  file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
