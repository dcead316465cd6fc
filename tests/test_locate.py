"""Dense text-audio similarity: per-time-step embeddings, ``locate``, ``slap locate``."""

import json

import numpy as np
import pytest
import soundfile
import torch

from espnet2_slap.audio.patchify import num_patch_tokens, patchify
from espnet2_slap.bin.slap_cli import main as cli_main
from espnet2_slap.bin.slap_locate_eval import frame_auc, segment_counts
from espnet2_slap.inference import SLAPInference
from espnet2_slap.inference.locate import SimilarityCurve, step_embeddings

RATE = 16000
STEP = 0.16  # 16 frames of 10 ms


def _band_noise(rng, seconds, low_hz, high_hz, amplitude):
    """White noise band-passed to [low_hz, high_hz] (FFT mask), scaled to an RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(int(seconds * RATE)))
    freqs = np.fft.rfftfreq(int(seconds * RATE), 1 / RATE)
    wave = np.fft.irfft(spectrum * ((freqs >= low_hz) & (freqs <= high_hz)), int(seconds * RATE))
    return amplitude * wave / wave.std()


def _sources():
    """Three 2 s sources in different bands (low noise, a harmonic tone, high noise) over a
    faint noise floor, as recordings have."""
    rng = np.random.default_rng(0)
    t = np.arange(2 * RATE) / RATE
    harmonic = sum(np.sin(2 * np.pi * f * t) for f in (2000, 2400, 2800, 3200))
    sources = [
        _band_noise(rng, 2, 100, 600, 0.2),
        0.1 * harmonic + _band_noise(rng, 2, 0, 8000, 0.01),
        _band_noise(rng, 2, 4000, 7000, 0.2),
    ]
    return [s.astype(np.float32) for s in sources]


def _compose(sources, gap_s=0.5):
    """Sources joined with silent gaps -> (clip, [(onset, offset)] seconds)."""
    gap = _band_noise(np.random.default_rng(1), gap_s, 0, 8000, 0.01).astype(np.float32)
    parts, spans, at = [], [], 0.0
    for source in sources:
        spans.append((at, at + source.size / RATE))
        parts += [source, gap]
        at += (source.size + gap.size) / RATE
    return np.concatenate(parts[:-1]), spans


class BandEnergyEncoder(torch.nn.Module):
    """A hand-set audio encoder whose behaviour is known: the token of patch (t, f) holds,
    in dims ``4f .. 4f + 3``, how far each quarter of the patch's mel bins rises above the
    floor (dim 31 is a constant, so silence has a direction too). Time-major packed tokens,
    as the SLAP ViT gives them."""

    patch_size, freq_patches = 16, 4

    def num_tokens(self, feats_lengths):
        return num_patch_tokens(feats_lengths, self.patch_size, self.freq_patches)

    def forward(self, feats, feats_lengths):
        patches, positions = patchify(feats, feats_lengths, self.patch_size)
        quarters = patches.values.view(-1, 16, 4, 4).mean(dim=(1, 3))  # (N, 4) sub-band means
        tokens = torch.zeros(patches.values.size(0), 32)
        columns = 4 * positions[:, 1:2] + torch.arange(4)
        tokens.scatter_(1, columns, torch.relu(quarters + 1.0))
        tokens[:, 31] = 0.1
        return patches.with_values(tokens)


@pytest.fixture(scope="module")
def local_slap(tiny_exp):
    """The tiny model with the hand-set encoder above; MAP pooling and the rest are the
    model's own."""
    slap = SLAPInference(tiny_exp / "config.yaml", tiny_exp / "model.pth")
    slap.model.audio_encoder = BandEnergyEncoder()
    return slap


def _query_by_example(slap, source):
    """A "text" embedding: the mean step embedding of the source played alone."""
    emb = slap.embed_steps(source, RATE).embeddings.mean(axis=0)
    return emb / np.linalg.norm(emb)


def test_step_embeddings_pool_each_time_step_with_map(local_slap):
    pooling = local_slap.model.audio_pooling
    tokens = torch.randn(5 * 4, pooling.q_proj.in_features)  # 5 steps of 4 frequency patches
    steps = step_embeddings(pooling, tokens, freq_patches=4)
    assert steps.shape == (5, local_slap.embed_dim)
    for t in range(5):  # step t = MAP over its own 4 tokens, exactly as a clip would be pooled
        alone = pooling(tokens[4 * t : 4 * t + 4][None], torch.ones(1, 4, dtype=torch.bool))
        torch.testing.assert_close(steps[t], torch.nn.functional.normalize(alone[0], dim=-1))
    wide = step_embeddings(pooling, tokens, freq_patches=4, context_steps=1)
    first = pooling(tokens[:8][None], torch.ones(1, 8, dtype=torch.bool))  # steps 0-1 only
    torch.testing.assert_close(wide[0], torch.nn.functional.normalize(first[0], dim=-1))
    with pytest.raises(ValueError, match="whole time steps"):
        step_embeddings(pooling, tokens[:7], freq_patches=4)


def test_locate_peaks_on_the_described_source(local_slap, monkeypatch):
    sources = _sources()
    clip, spans = _compose(sources)
    for target, (onset, offset) in enumerate(spans):
        query = _query_by_example(local_slap, sources[target])
        monkeypatch.setattr(local_slap, "embed_text", lambda texts, q=query: q[None])
        curve = local_slap.locate(clip, "the described sound", RATE)
        frames = 1 + clip.size // 160
        assert len(curve.scores) == -(-frames // 16)
        np.testing.assert_allclose(curve.times, np.arange(len(curve.scores)) * STEP, atol=1e-9)
        inside = (curve.centers > onset + STEP) & (curve.centers < offset - STEP)
        others = np.zeros_like(inside)
        for j, (a, b) in enumerate(spans):
            if j != target:
                others |= (curve.centers > a + STEP) & (curve.centers < b - STEP)
        assert curve.scores[inside].min() > curve.scores[others].max(), target
        assert frame_auc(curve.scores, inside, others) == 1.0
        (segment,) = curve.segments()  # one run above the halfway threshold: the source
        assert abs(segment[0] - onset) < 0.5 and abs(segment[1] - offset) < 0.5, segment


def test_locate_fails_on_frame_embeddings_that_are_all_the_same(local_slap, monkeypatch):
    """A reading that gives every step the clip embedding (or any constant) localises
    nothing: the curve is flat and the evaluation scores it as chance."""
    sources = _sources()
    clip, spans = _compose(sources)
    query = _query_by_example(local_slap, sources[1])
    monkeypatch.setattr(local_slap, "embed_text", lambda texts: query[None])
    clip_embedding = local_slap.embed_audio(clip, RATE)[0]
    constant = lambda pooling, tokens, freq_patches, context_steps=0: torch.from_numpy(
        np.tile(clip_embedding, (tokens.size(0) // freq_patches, 1))
    )
    monkeypatch.setattr("espnet2_slap.inference.locate.step_embeddings", constant)
    curve = local_slap.locate(clip, "a tone", RATE)
    inside = (curve.centers > spans[1][0]) & (curve.centers < spans[1][1])
    assert np.ptp(curve.scores) < 1e-6
    assert frame_auc(curve.scores, inside, ~inside) == 0.5
    assert curve.segments() == [(0.0, pytest.approx(clip.size / RATE))]  # all of it
    tp, fp, fn = segment_counts(curve.segments(), [spans[1]], collar=0.5)
    assert (tp, fp, fn) == (0, 1, 1)


def test_long_clips_follow_the_embedding_windows(tiny_exp, local_slap, monkeypatch):
    """A clip over max_native_seconds is embedded in the windows of embed_audio; the merged
    steps lie on the clip's own 0.16 s grid and agree with embedding the clip whole."""
    windowed = SLAPInference(tiny_exp / "config.yaml", tiny_exp / "model.pth",
                             max_native_seconds=3.0, chunk_seconds=2.0, chunk_hop_seconds=1.0)
    windowed.model = local_slap.model
    clip, _ = _compose(_sources())  # 7 s
    whole = local_slap.embed_steps(clip, RATE)
    merged = windowed.embed_steps(clip, RATE)
    assert merged.embeddings.shape == whole.embeddings.shape
    np.testing.assert_allclose(np.linalg.norm(merged.embeddings, axis=1), 1.0, atol=1e-5)
    agreement = np.sum(merged.embeddings * whole.embeddings, axis=1)
    assert np.median(agreement) > 0.99


def test_curve_segments_and_threshold():
    curve = SimilarityCurve(np.arange(6) * STEP, np.array([0.0, 0.9, 1.0, 0.1, 0.8, 0.2]),
                            STEP, duration=0.9)
    assert curve.threshold() == pytest.approx(0.5)
    assert curve.segments() == [(pytest.approx(0.16), pytest.approx(0.48)),
                                (pytest.approx(0.64), pytest.approx(0.8))]
    assert curve.segments(threshold=0.05) == [(pytest.approx(0.16), pytest.approx(0.9))]
    assert curve.segments(threshold=2.0) == []


def test_slap_locate_cli_prints_segments_and_writes_a_png(local_slap, tiny_exp, tmp_path,
                                                        monkeypatch, capsys):
    monkeypatch.setattr(SLAPInference, "from_pretrained",
                        classmethod(lambda cls, *a, **k: local_slap))
    sources = _sources()
    clip, spans = _compose(sources)
    wav = tmp_path / "clip.wav"
    soundfile.write(wav, clip, RATE)
    query = _query_by_example(local_slap, sources[2])
    monkeypatch.setattr(local_slap, "embed_text", lambda texts: np.tile(query, (len(texts), 1)))
    assert cli_main(["locate", str(wav), "--model", "m.zip", "--query", "clicks",
                     "--plot-dir", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out
    assert "clicks" in out and "s -" in out
    png = tmp_path / "plots" / "clip.locate.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli_main(["locate", str(wav), "--model", "m.zip", "--query", "clicks", "--json",
                     "--plot-dir", str(tmp_path / "plots")]) == 0
    result = json.loads(capsys.readouterr().out)
    ((start, end),) = result[str(wav)]["queries"]["clicks"]["segments"]
    assert abs(start - spans[2][0]) < 0.5 and abs(end - spans[2][1]) < 0.5


def test_locate_eval_composes_clips_and_scores_model_against_baselines(local_slap, tmp_path,
                                                                       monkeypatch):
    """slap_locate_eval on single-source clips: the composer's onsets are where the sources
    are, and a model that localises beats the uniform and energy baselines."""
    from espnet2_slap.bin import slap_locate_eval

    names = ["low rumble", "a chime", "hiss"]
    data = tmp_path / "single"
    data.mkdir()
    wav_scp, text, labels = [], [], []
    for i, (name, source) in enumerate(zip(names, _sources())):
        padded = np.concatenate([np.zeros(1600, np.float32), source, np.zeros(800, np.float32)])
        soundfile.write(data / f"s{i}.wav", padded, RATE)
        wav_scp.append(f"s{i} {data / f's{i}.wav'}")
        text.append(f"s{i} {name}")
        labels.append(f"s{i} label{i}")
    for name, lines in (("wav.scp", wav_scp), ("text", text), ("utt2label", labels)):
        (data / name).write_text("\n".join(lines) + "\n")
    queries = {n: _query_by_example(local_slap, s) for n, s in zip(names, _sources())}
    monkeypatch.setattr(local_slap, "embed_text",
                        lambda texts: np.stack([queries[t] for t in texts]))
    monkeypatch.setattr(SLAPInference, "from_pretrained",
                        classmethod(lambda cls, *a, **k: local_slap))

    waves = {f"s{i}": s for i, s in enumerate(_sources())}
    clips = slap_locate_eval.compose_clips(waves, dict(zip(waves, names)), None, 2, 3, RATE, 0)
    for wave, events in clips:
        for event in events:  # each source sits exactly at its onset
            source = waves[event.utt_id]
            start = int(round(event.onset * RATE))
            np.testing.assert_array_equal(wave[start : start + source.size], source)
            assert event.offset == pytest.approx(event.onset + source.size / RATE)

    out = tmp_path / "locate"
    results = slap_locate_eval.main(["--model", "m.zip", "--data_dir", str(data),
                                     "--output_dir", str(out), "--num_clips", "4",
                                     "--num_plots", "1"])
    assert results["model"]["queries"] == 12
    assert results["model"]["frame_auc"] > 0.95 and results["model"]["segment_f1"] > 0.9
    assert results["uniform"]["frame_auc"] == 0.5 and results["uniform"]["segment_f1"] == 0.0
    assert results["energy"]["frame_auc"] < 0.9
    assert "| uniform | 0.500 |" in (out / "results.md").read_text()
    assert (out / "composed_000.png").is_file()
