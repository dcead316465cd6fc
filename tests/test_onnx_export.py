"""ONNX export: onnxruntime embeddings equal SLAPInference's, and run without PyTorch."""

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch

from espnet2_slap.bin import slap_export_onnx
from espnet2_slap.bin.slap_pack import main as pack_main
from espnet2_slap.export.onnx_runtime import SLAPOnnx, window_spans
from espnet2_slap.export.onnx_towers import AudioTower, SingleClipLayout, explicit_rms_norms
from espnet2_slap.inference import SLAPInference
from espnet2_slap.inference.long_audio import chunk_spans
from espnet2_slap.layers.attention_backends import packed_attention

RATE = 16000


def clip(seconds, seed=0):
    """Noise, a tone and a sweep: inputs the embedding can tell apart."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    wave = 0.05 * rng.standard_normal(t.size) + 0.2 * np.sin(2 * np.pi * (300 + 200 * seed) * t)
    return (wave + 0.1 * np.sin(2 * np.pi * (100 + 300 * t) * t)).astype(np.float32)


@pytest.fixture(scope="module")
def exported(tiny_exp, tmp_path_factory):
    """(SLAPInference of the packed tiny model, the export folder)."""
    root = tmp_path_factory.mktemp("onnx")
    cwd = os.getcwd()
    os.chdir(tiny_exp.parent)
    try:
        pack_main(["--slap_train_config", str(tiny_exp / "config.yaml"),
                   "--slap_model_file", str(tiny_exp / "model.pth"),
                   "--outpath", str(root / "packed.zip")])
    finally:
        os.chdir(cwd)
    out = root / "export"
    assert slap_export_onnx.main(["--model", str(root / "packed.zip"), "--out", str(out)]) == 0
    slap = SLAPInference.from_pretrained(str(root / "packed.zip"), cache_dir=root / "cache")
    return slap, out


def test_onnxruntime_embeddings_equal_slap_inference(exported):
    slap, out = exported
    runtime = SLAPOnnx(out)
    durations = [0.5, 1.03, 4.6, 12.0, 30.0, 0.02, 41.3]  # 41.3 s: windows, as SLAPInference
    reference = slap.embed_audio([clip(d, i) for i, d in enumerate(durations)], RATE)
    onnx = np.stack([runtime.embed_audio(clip(d, i)) for i, d in enumerate(durations)])
    distance = 1.0 - np.sum(onnx * reference, axis=1)
    assert distance.max() <= 1e-4, distance
    # the clips are far apart, so the check could see a wrong front end or encoder
    apart = 1.0 - reference @ reference.T
    assert apart[~np.eye(len(durations), dtype=bool)].min() > 100 * max(distance.max(), 1e-6)

    texts = ["a dog barks", "", "a bell rings twice " * 10, "rain"]  # padding, truncation
    distance = 1.0 - np.sum(runtime.embed_text(texts) * slap.embed_text(texts), axis=1)
    assert distance.max() <= 1e-4, distance
    assert runtime.embed_text([]).shape == (0, slap.embed_dim)


def test_the_runtime_tokenizes_as_the_text_encoder(exported):
    slap, out = exported
    runtime = SLAPOnnx(out)
    for text in ["a dog barks", "", "Ünïcode, punctuation!  and   spaces", "word " * 40]:
        assert runtime.tokenizer.encode(text).ids == slap.text_tokenizer(text)


def test_windows_follow_long_audio(exported):
    slap, _ = exported
    assert window_spans(100, 200, 50, 25) == [(0, 100)]
    for n in [480000, 480001, 600000, 655360, 1234567]:
        spans = window_spans(n, slap.max_native_samples, slap.chunk_samples,
                             slap.chunk_hop_samples)
        expected = [(0, n)] if n <= slap.max_native_samples else chunk_spans(
            n, slap.chunk_samples, slap.chunk_hop_samples)
        assert spans == expected


def test_export_path_computes_the_packed_path(exported):
    """The single-sequence attention (band mask for local layers) equals the packed sdpa
    backend, and the export tower's tokens equal the packed encoder's."""
    slap, _ = exported
    torch.manual_seed(0)
    q, k, v = (torch.randn(37, 2, 8) for _ in range(3))
    cu = torch.tensor([0, 37], dtype=torch.int32)
    for radius in (None, 3, 8):
        torch.testing.assert_close(SingleClipLayout().attend(q, k, v, radius, "sdpa"),
                                   packed_attention(q, k, v, cu, 37, radius, "sdpa"))
    tower = AudioTower(slap.model).eval()
    for seconds in (0.5, 3.3, 9.0):
        wave = slap.load(clip(seconds), RATE)
        with torch.no_grad():
            feats, lengths = slap.model.extract_feats(wave[None], torch.tensor([wave.numel()]))
            packed = slap.model.audio_encoder(feats, lengths).values
            with explicit_rms_norms(tower):
                single = tower.tokens(wave[None])
        torch.testing.assert_close(single, packed, atol=1e-5, rtol=1e-5)


def test_example_runs_without_torch(exported, tmp_path):
    slap, out = exported
    wav = tmp_path / "tone.wav"
    soundfile.write(wav, clip(2.0), RATE)
    blocker = "import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None\n"
    script = blocker + (
        f"sys.argv = ['example.py', {str(wav)!r}, '--query', 'a tone', '--query', 'a dog']\n"
        f"import runpy; runpy.run_path({str(out / 'example.py')!r}, run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == str(wav) and len(lines) == 3
    runtime = SLAPOnnx(out)
    expected = runtime.embed_text(["a tone", "a dog"]) @ slap.embed_audio(clip(2.0), RATE)[0]
    printed = {line.split(maxsplit=1)[1]: float(line.split()[0]) for line in lines[1:]}
    assert printed["a tone"] == pytest.approx(expected[0], abs=2e-3)
    assert printed["a dog"] == pytest.approx(expected[1], abs=2e-3)
