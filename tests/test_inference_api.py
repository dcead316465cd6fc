"""SLAPInference: deterministic embeddings, bad-input behaviour, long audio, packing."""

import importlib.util
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from espnet2_slap.bin.slap_pack import main as pack_main
from espnet2_slap.inference import SLAPInference
from espnet2_slap.inference.audio_input import AudioFileWindows, AudioInputError, load_waveform
from espnet2_slap.inference.embedding_index import EmbeddingIndex
from espnet2_slap.inference.long_audio import chunk_spans, merge_chunk_embeddings


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def slap(tiny_exp):
    return SLAPInference(tiny_exp / "config.yaml", tiny_exp / "model.pth")


def tone(seconds, rate=16000, freq=440.0):
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_embeddings_do_not_depend_on_batching(slap):
    clips = [tone(1.0), tone(4.3, freq=220), tone(0.2, freq=880), tone(2.7, freq=330)]
    together = slap.embed_audio(clips, 16000)
    assert together.shape == (4, slap.embed_dim)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    for clip, row in zip(clips, together):
        alone = slap.embed_audio(clip, 16000)[0]
        assert np.abs(alone - row).max() <= 1e-5
    slap.batch_tokens = 40  # force one clip per encoder call
    try:
        np.testing.assert_allclose(slap.embed_audio(clips, 16000), together, atol=1e-5)
    finally:
        slap.batch_tokens = 32768
    np.testing.assert_array_equal(slap.embed_audio(clips, 16000), together)


def test_sample_rates_channels_and_integer_pcm(slap, tmp_path):
    base = slap.embed_audio(tone(2.0), 16000)[0]
    for rate in (8000, 22050, 44100, 11025):
        resampled = slap.embed_audio(tone(2.0, rate=rate), rate)[0]
        assert resampled @ base > 0.95, rate
    stereo = np.stack([tone(2.0), tone(2.0)], axis=1)  # (T, 2)
    np.testing.assert_allclose(slap.embed_audio(stereo, 16000)[0], base, atol=1e-5)
    np.testing.assert_allclose(slap.embed_audio(stereo.T.copy(), 16000)[0], base, atol=1e-5)
    pcm = (tone(2.0) * 32768).astype(np.int16)
    assert slap.embed_audio(pcm, 16000)[0] @ base > 0.999
    path = tmp_path / "stereo44k.flac"
    soundfile.write(path, np.stack([tone(2.0, 44100)] * 2, axis=1), 44100)
    assert slap.embed_audio(path)[0] @ base > 0.95


def test_bad_inputs_give_clear_errors(slap, tmp_path, caplog):
    with pytest.raises(AudioInputError, match="no such file"):
        slap.embed_audio(tmp_path / "missing.wav")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(AudioInputError, match="broken.wav: cannot read audio"):
        slap.embed_audio(broken)
    with pytest.raises(AudioInputError, match="empty audio"):
        slap.embed_audio(np.zeros(0, dtype=np.float32), 16000)
    nan = tone(1.0)
    nan[100] = np.nan
    with pytest.raises(AudioInputError, match="NaN"):
        slap.embed_audio(nan, 16000)
    with pytest.raises(AudioInputError, match="sample_rate"):
        slap.embed_audio(tone(1.0))
    with pytest.raises(AudioInputError, match="sample rate"):
        slap.embed_audio(tone(1.0), 16000.5)
    with pytest.raises(ValueError, match="labels is empty"):
        slap.classify(tone(1.0), [], sample_rate=16000)
    with pytest.raises(ValueError, match="template"):
        slap.classify(tone(1.0), ["dog"], template="a dog", sample_rate=16000)
    # silent and very short clips are documented to work; only silence is warned about
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        slap.embed_audio(tone(1.0), 16000)
        assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
        silent = slap.embed_audio(np.zeros(16000, dtype=np.float32), 16000)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["audio array: audio is silent (all zeros); embedding it anyway"]
    assert np.isfinite(silent).all()
    assert np.isfinite(slap.embed_audio(tone(0.005), 16000)).all()


def test_text_classify_retrieve_caption(slap):
    text = slap.embed_text(["a dog barks", "", "a bell rings"])
    assert text.shape == (3, slap.embed_dim)
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-5)

    # Classification: labels by softmax(logit_scale * cosine) of "the sound of {label}".
    clips, labels = [tone(1.0), tone(2.0, freq=200)], ["dog", "bell", "piano"]
    ranked = slap.classify(clips, labels, sample_rate=16000)
    prompts = slap.embed_text([f"the sound of {label}" for label in labels])
    logits = slap.logit_scale * slap.embed_audio(clips, 16000) @ prompts.T  # (2, 3)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    for row, clip_probs in zip(ranked, probs):
        order = np.argsort(-clip_probs)
        assert np.diff(clip_probs[order]).max() < -1e-6  # no ties: the order is meaningful
        assert [label for label, _ in row] == [labels[j] for j in order]
        np.testing.assert_allclose([p for _, p in row], clip_probs[order], rtol=1e-5)

    # Retrieval: index keys by cosine similarity to the query, best first.
    index = slap.index_audio({"a": tone(1.0), "b": tone(3.0, freq=200)}, 16000)
    scores = index.embeddings @ slap.embed_text("a dog barks")[0]  # (2,)
    assert abs(scores[0] - scores[1]) > 1e-6
    expected = [index.keys[j] for j in np.argsort(-scores)]
    hits = slap.retrieve_audio("a dog barks", index, top_k=5)
    assert [key for key, _ in hits[0]] == expected
    np.testing.assert_allclose([s for _, s in hits[0]], np.sort(scores)[::-1], rtol=1e-5)

    # Captioning: greedy decoding over the clip's encoder tokens, ids read through the
    # character token list; a clip gets the same caption alone or in a batch.
    captions = slap.caption(clips, 16000, max_length=10)
    token_list = slap.model.token_list
    for clip, caption in zip(clips, captions):
        speech = torch.from_numpy(clip)[None]
        with torch.no_grad():
            feats, feats_lengths = slap.model.extract_feats(speech, torch.tensor([len(clip)]))
            memory, valid = slap.model.audio_encoder(feats, feats_lengths).to_padded()
            (ids,) = slap.model.caption_decoder.generate(memory, valid, max_length=10)
        assert len(ids) <= 10
        assert caption == "".join(" " if token_list[i] == "<space>" else token_list[i] for i in ids)
        assert slap.caption(clip, 16000, max_length=10) == [caption]


def test_embedding_index_ranks_by_cosine_and_round_trips(tmp_path):
    index = EmbeddingIndex(["x", "y", "z"], np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]))
    # cosines with (0.8, 0.6): x 0.8, y 0.96, z 0.6; with (0, -1): x 0, y -0.8, z -1
    hits = index.search(np.array([[0.8, 0.6], [0.0, -1.0]]), top_k=2)
    assert [[key for key, _ in row] for row in hits] == [["y", "x"], ["x", "y"]]
    np.testing.assert_allclose([score for _, score in hits[0]], [0.96, 0.8], rtol=1e-6)
    index.save(tmp_path / "index.npz")
    loaded = EmbeddingIndex.load(tmp_path / "index.npz")
    assert loaded.keys == index.keys
    np.testing.assert_array_equal(loaded.embeddings, index.embeddings)


def test_long_audio_is_chunked_deterministically(tiny_exp):
    assert chunk_spans(10, 10, 5) == [(0, 10)]
    assert chunk_spans(25, 10, 5) == [(0, 10), (5, 15), (10, 20), (15, 25)]
    assert chunk_spans(23, 10, 5) == [(0, 10), (5, 15), (10, 20), (13, 23)]
    with pytest.raises(ValueError):
        chunk_spans(23, 10, 11)

    long_slap = SLAPInference(
        tiny_exp / "config.yaml", tiny_exp / "model.pth",
        max_native_seconds=3.0, chunk_seconds=2.0, chunk_hop_seconds=1.0,
    )
    clip = np.concatenate([tone(2.0), tone(2.5, freq=200)])  # 4.5 s > 3 s
    spans = chunk_spans(len(clip), 32000, 16000)
    windows = long_slap.embed_audio([clip[s:e] for s, e in spans], 16000)
    expected = merge_chunk_embeddings(torch.from_numpy(windows)).numpy()
    np.testing.assert_allclose(long_slap.embed_audio(clip, 16000)[0], expected, atol=1e-5)
    np.testing.assert_array_equal(long_slap.embed_audio(clip, 16000), long_slap.embed_audio(clip, 16000))


def write_noise(path, seconds, rate=16000, channels=1, audio_format="FLAC", seed=0):
    rng = np.random.default_rng(seed)
    wave = (0.1 * rng.standard_normal((int(seconds * rate), channels))).astype(np.float32)
    soundfile.write(path, wave, rate, format=audio_format, subtype="PCM_16")
    return path


@pytest.mark.parametrize("rate, channels", [(8000, 1), (11025, 2), (16000, 1), (44100, 2),
                                            (48000, 6)])
def test_file_windows_hold_the_whole_files_samples(tmp_path, rate, channels):
    """Window by window, resampled from the filter's context only: the samples of the whole
    file decoded and resampled at once. Exactly, without resampling; with it, the same
    polyphase frames from the same samples, up to float32 rounding of the convolution (its
    summation order may depend on the input's length): measured <= 1.5e-8, allowed 1e-7."""
    path = write_noise(tmp_path / "clip.flac", 9.7, rate, channels)
    whole = load_waveform(path, None, 16000, 512)
    windows = AudioFileWindows(path, 16000)
    assert windows.num_samples == whole.numel()
    windows.BLOCK_FRAMES = 4096  # many decoder blocks per window
    spans = chunk_spans(windows.num_samples, 32000, 12000)  # 2 s windows every 0.75 s
    for (start, end), part in zip(spans, windows.windows(spans), strict=True):
        atol = 0 if rate == 16000 else 1e-7
        torch.testing.assert_close(part, whole[start:end], rtol=0, atol=atol)


@pytest.mark.parametrize("rate, channels, audio_format", [
    (16000, 1, "FLAC"), (44100, 2, "WAV"), (22050, 3, "FLAC"),
])
def test_long_files_are_embedded_window_by_window(slap, tmp_path, monkeypatch, rate, channels,
                                                  audio_format):
    """A file over 30 s is never decoded whole, and embeds as when it is: exactly at the
    model's rate, within float32 rounding when resampled (see the test above)."""
    path = tmp_path / f"long.{audio_format.lower()}"
    write_noise(path, 47.3, rate, channels, audio_format)
    short = tone(2.0)
    whole = slap.embed_audio([short, slap.load(path), tone(31.0, freq=300)], 16000)

    def no_whole_file(*args, **kwargs):
        raise AssertionError("the whole file was decoded")

    monkeypatch.setattr(soundfile, "read", no_whole_file)
    windowed = slap.embed_audio([short, path, tone(31.0, freq=300)], 16000)
    np.testing.assert_allclose(windowed, whole, rtol=0, atol=0 if rate == 16000 else 1e-6)


def test_long_file_faults_are_named(slap, tmp_path, caplog):
    cut = write_noise(tmp_path / "cut.flac", 40.0)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])  # header intact, body cut
    with pytest.raises(AudioInputError, match="cut.flac: cannot read audio"):
        slap.embed_audio(cut)
    silent = tmp_path / "silent.flac"
    soundfile.write(silent, np.zeros(16000 * 40, dtype=np.float32), 16000)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert np.isfinite(slap.embed_audio(silent)).all()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [f"{silent}: audio is silent (all zeros); embedding it anyway"]


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_duration(tiny_exp, tmp_path):
    """Embedding a 60-minute file peaks within 150 MB of a 1-minute file. Measured by
    tools/bench/bench_long_audio_memory.py: one fresh process per file, its peak resident
    memory (ru_maxrss) and its peak while embedding (/proc VmHWM, reset after loading)."""
    spec = importlib.util.spec_from_file_location(
        "bench_long_audio_memory", ROOT / "tools" / "bench" / "bench_long_audio_memory.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    figures = {}
    for minutes in (1, 60):
        audio = bench.write_long_flac(tmp_path / f"{minutes}min.flac", minutes)
        figures[minutes] = bench.measure(tiny_exp, audio)
    short, long = figures[1], figures[60]
    assert long["peak_mb"] - short["peak_mb"] < 150, figures
    embedding_peak = {m: f["model_mb"] + f["embed_peak_mb"] for m, f in figures.items()}
    assert embedding_peak[60] - embedding_peak[1] < 150, figures


def pack_tiny_exp(tiny_exp, archive, monkeypatch):
    """``slap_pack`` the tiny experiment into ``archive`` (run from the experiment's parent,
    as a recipe does; the working directory stays there)."""
    monkeypatch.chdir(tiny_exp.parent)
    pack_main([
        "--slap_train_config", str(tiny_exp / "config.yaml"),
        "--slap_model_file", str(tiny_exp / "model.pth"),
        "--outpath", str(archive),
    ])
    return archive


def test_packed_model_reloads_with_identical_embeddings(slap, tiny_exp, tmp_path, monkeypatch):
    archive = pack_tiny_exp(tiny_exp, tmp_path / "packed.zip", monkeypatch)
    reloaded = SLAPInference.from_pretrained(str(archive), cache_dir=tmp_path / "cache")
    clips = [tone(1.5), tone(3.0, freq=250)]
    np.testing.assert_array_equal(reloaded.embed_audio(clips, 16000), slap.embed_audio(clips, 16000))
    texts = ["a dog barks", "a piano plays a low note"]
    np.testing.assert_array_equal(reloaded.embed_text(texts), slap.embed_text(texts))
    assert reloaded.caption(clips, 16000, max_length=8) == slap.caption(clips, 16000, max_length=8)
    # the archive is self-contained: what the model reads comes from the unpacked archive
    unpacked = str(tmp_path / "cache")
    args = reloaded.train_args
    assert args.normalize_conf["stats_file"].startswith(unpacked)
    assert args.text_encoder_conf["model_name_or_path"].startswith(unpacked)
    assert args.text_encoder_conf["pretrained"] is False


def test_model_zoo_tag_goes_through_espnet_model_zoo(slap, tiny_exp, tmp_path, monkeypatch):
    """A Hugging Face tag is resolved by espnet_model_zoo; the hub download itself is replaced
    by the repository layout that recipe stage 10 uploads (the unzipped packed model)."""
    import zipfile

    import espnet_model_zoo.downloader as downloader

    archive = pack_tiny_exp(tiny_exp, tmp_path / "packed.zip", monkeypatch)
    repo = tmp_path / "hub" / "someone--slap_tiny"
    zipfile.ZipFile(archive).extractall(repo)
    requested = []

    def fake_snapshot_download(repo_id, **kwargs):
        requested.append(repo_id)
        return str(repo)

    monkeypatch.setattr(downloader, "snapshot_download", fake_snapshot_download)
    from_tag = SLAPInference.from_pretrained("someone/slap_tiny", cache_dir=tmp_path / "zoo")
    assert requested == ["someone/slap_tiny"]
    clip = tone(1.5)
    np.testing.assert_array_equal(from_tag.embed_audio(clip, 16000), slap.embed_audio(clip, 16000))


def test_readme_python_example_runs(tiny_exp, tmp_path, monkeypatch):
    """The README's "Using a trained model" block, as written, on a packed tiny model."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("## Using a trained model", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    archive = pack_tiny_exp(tiny_exp, tmp_path / "packed.zip", monkeypatch)
    monkeypatch.chdir(tmp_path)
    soundfile.write("dog.wav", tone(1.0), 16000)
    soundfile.write("bell.flac", tone(2.0, rate=44100, freq=900), 44100)
    assert '"exp/slap_train_slap_tiny/slap_train_slap_tiny_valid.loss.best.zip"' in block
    namespace = {}
    exec(block.replace('"exp/slap_train_slap_tiny/slap_train_slap_tiny_valid.loss.best.zip"', repr(str(archive))), namespace)
    audio, text = namespace["audio"], namespace["text"]
    assert audio.shape == text.shape == (2, namespace["slap"].embed_dim)
    np.testing.assert_allclose(np.linalg.norm(audio, axis=1), 1.0, atol=1e-5)
