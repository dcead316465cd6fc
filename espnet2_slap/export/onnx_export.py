"""Write a trained SLAP model as two ONNX graphs that need neither PyTorch nor ESPnet.

``out_dir`` receives:

* ``audio.onnx``: ``waveform`` ``(1, samples)`` float32 at 16 kHz -> ``embedding`` ``(1, D)``
  (STFT, log-mel, normalisation, encoder, MAP; any length from one FFT window up);
* ``text.onnx``: ``input_ids``, ``attention_mask`` ``(batch, tokens)`` int64 -> ``embedding``
  ``(batch, D)``;
* ``tokenizer/``: the text encoder's tokenizer (``tokenizer.json`` for ``tokenizers``);
* ``slap_onnx.json``: rate, windowing and tokenizer settings;
* ``slap_onnx.py`` (the runtime, ``export/onnx_runtime.py``) and ``example.py``.

The graphs come from the TorchScript-based ``torch.onnx.export`` (``dynamo=False``), which
runs offline with only the ``onnx`` package; the towers are ``export/onnx_towers.py``.
"""

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Union

import torch

from espnet2_slap.export.onnx_towers import AudioTower, TextTower, explicit_rms_norms
from espnet2_slap.utils.atomic_files import atomic_path, atomic_write_text

if TYPE_CHECKING:
    from espnet2_slap.inference.slap_inference import SLAPInference

HERE = Path(__file__).resolve().parent
OPSET = 17


def export_onnx(slap: "SLAPInference", out_dir: Union[str, Path], opset: int = OPSET) -> Dict:
    """Export ``slap`` (on CPU, float32) into ``out_dir``; returns the written config."""
    if slap.device.type != "cpu":
        raise ValueError("export from a model loaded on the CPU (device='cpu')")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = slap.model.eval().float()
    tokenizer = getattr(slap.text_tokenizer, "tokenizer", None)
    if tokenizer is None or not getattr(tokenizer, "is_fast", False):
        raise ValueError("ONNX export needs the Hugging Face text encoder's fast tokenizer "
                         "(tokenizer.json)")
    max_tokens = int(slap.text_tokenizer.max_length)

    audio = AudioTower(model).eval()
    example_wave = torch.randn(1, 3 * slap.sample_rate) * 0.1
    text = TextTower(model).eval()
    example = tokenizer(["a dog barks", "rain falls on a tin roof"], padding=True,
                        truncation=True, max_length=max_tokens, return_tensors="pt")
    with torch.no_grad(), explicit_rms_norms(model):
        _export(audio, (example_wave,), out_dir / "audio.onnx", ["waveform"],
                {"waveform": {1: "samples"}}, opset)
        _export(text, (example["input_ids"], example["attention_mask"]), out_dir / "text.onnx",
                ["input_ids", "attention_mask"],
                {name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask")},
                opset)

    shutil.rmtree(out_dir / "tokenizer", ignore_errors=True)
    tokenizer.save_pretrained(str(out_dir / "tokenizer"))
    if not (out_dir / "tokenizer" / "tokenizer.json").is_file():
        raise RuntimeError(f"the tokenizer wrote no tokenizer.json into {out_dir / 'tokenizer'}")
    config = {
        "sample_rate": slap.sample_rate,
        "min_samples": slap.min_samples,
        "max_native_samples": slap.max_native_samples,
        "chunk_samples": slap.chunk_samples,
        "chunk_hop_samples": slap.chunk_hop_samples,
        "max_text_tokens": max_tokens,
        "embed_dim": slap.embed_dim,
        "logit_scale": slap.logit_scale,
        "opset": opset,
    }
    atomic_write_text(out_dir / "slap_onnx.json", json.dumps(config, indent=2) + "\n")
    shutil.copyfile(HERE / "onnx_runtime.py", out_dir / "slap_onnx.py")
    shutil.copyfile(HERE / "example.py", out_dir / "example.py")
    return config


def _export(module, args, path: Path, input_names, dynamic_axes, opset: int) -> None:
    with atomic_path(path) as partial:
        torch.onnx.export(module, args, str(partial), dynamo=False, opset_version=opset,
                          input_names=input_names, output_names=["embedding"],
                          dynamic_axes=dict(dynamic_axes, embedding={0: "batch"}))
