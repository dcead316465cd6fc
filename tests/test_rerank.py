"""Caption-likelihood re-ranking of text-to-audio retrieval."""

import json

import numpy as np
import pytest
import soundfile
import torch

from espnet2_slap.bin import slap_cli, slap_inference, slap_score
from espnet2_slap.inference import SLAPInference
from espnet2_slap.inference.rerank import (
    caption_log_likelihoods,
    choose_weight,
    reranked_similarity,
    rerank_table,
)
from espnet2_slap.metrics.retrieval import evaluate_retrieval

RATE = 16000
QUERIES = ["a dog barks", "a bell rings twice", "a man speaks", "a piano plays a low note"]


def tone(seconds, freq):
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="module")
def slap(tiny_exp):
    return SLAPInference(tiny_exp / "config.yaml", tiny_exp / "model.pth")


@pytest.fixture(scope="module")
def clips():
    return {f"c{i}": tone(0.6 + 0.4 * i, 150 * (i + 1)) for i in range(6)}


def direct_log_likelihood(slap, wave, text):
    """-L_CAP of one (clip, caption) pair, computed by the decoder's own training loss."""
    ids = slap.caption_ids.tokens2ids(slap.caption_tokenizer.text2tokens(text))
    with torch.no_grad():
        feats, lengths = slap.model.extract_feats(wave[None], torch.tensor([wave.numel()]))
        memory, valid = slap.model.audio_encoder(feats, lengths).to_padded()
        loss, _ = slap.model.caption_decoder(
            memory, valid, torch.tensor([ids]), torch.tensor([len(ids)])
        )
    return -float(loss)


def test_log_likelihood_is_the_decoders_length_normalised_likelihood(slap, clips):
    wave = slap.load(clips["c2"], RATE)
    batched = caption_log_likelihoods(slap, wave, QUERIES)
    direct = [direct_log_likelihood(slap, wave, q) for q in QUERIES]
    np.testing.assert_allclose(batched, direct, rtol=1e-5)
    assert len(set(np.round(batched, 6))) == len(QUERIES)  # the texts are told apart


def test_weight_zero_equals_plain_retrieval_exactly(slap, clips):
    index = slap.index_audio(clips, RATE)
    plain = slap.retrieve_audio(QUERIES, index, top_k=4)
    reranked = slap.retrieve_audio(QUERIES, index, top_k=4, rerank_weight=0.0, rerank_depth=5,
                                   audio={k: slap.load(v, RATE) for k, v in clips.items()})
    assert reranked == plain


def test_a_large_weight_ranks_the_candidates_by_likelihood(slap, clips):
    index = slap.index_audio(clips, RATE)
    waves = {k: slap.load(v, RATE) for k, v in clips.items()}
    depth = 4
    for query, hits in zip(QUERIES, slap.retrieve_audio(
            QUERIES, index, top_k=3, rerank_weight=1e6, rerank_depth=depth, audio=waves)):
        candidates = [k for k, _ in slap.retrieve_audio(query, index, top_k=depth)[0]]
        likelihood = {k: direct_log_likelihood(slap, waves[k], query) for k in candidates}
        expected = sorted(candidates, key=lambda k: -likelihood[k])[:3]
        assert [k for k, _ in hits] == expected
        assert hits[0][1] == pytest.approx(1e6 * likelihood[expected[0]], rel=1e-4)


def test_reranked_similarity_for_the_metrics():
    rng = np.random.default_rng(0)
    similarity = rng.uniform(-1, 1, (16, 12)).astype(np.float32)
    caption_to_audio = np.arange(16) % 12
    candidates = np.argsort(-similarity, axis=1, kind="stable")[:, :5]
    log_likelihood = rng.normal(-3, 1, candidates.shape)
    # weight 0: the very same scores, hence the very same metrics
    same = reranked_similarity(similarity, candidates, log_likelihood, 0.0)
    np.testing.assert_array_equal(same, similarity)
    # a large weight: the candidates ordered by likelihood, all above every other clip
    scores = reranked_similarity(similarity, candidates, log_likelihood, 1e3)
    order = np.argsort(-scores, axis=1, kind="stable")
    for q in range(16):
        by_likelihood = candidates[q][np.argsort(-log_likelihood[q], kind="stable")]
        np.testing.assert_array_equal(order[q, :5], by_likelihood)
        rest = [j for j in np.argsort(-similarity[q], kind="stable") if j not in candidates[q]]
        np.testing.assert_array_equal(order[q, 5:], rest)
    plain = evaluate_retrieval(similarity, caption_to_audio).text_to_audio
    (row,) = rerank_table(similarity, candidates, log_likelihood, caption_to_audio, [0.0])
    assert (row["R@1"], row["R@5"], row["R@10"]) == (
        plain.recall_at_1, plain.recall_at_5, plain.recall_at_10)


def test_the_weight_is_chosen_by_recall():
    # every query's clip is ranked second by the embedding, first by the likelihood
    similarity = np.zeros((6, 6))
    for q in range(6):
        similarity[q, (q + 1) % 6], similarity[q, q] = 0.9, 0.8  # clip q + 1 best, q second
    caption_to_audio = np.arange(6)
    candidates = np.argsort(-similarity, axis=1, kind="stable")[:, :3]
    log_likelihood = np.where(candidates == caption_to_audio[:, None], -1.0, -5.0)
    table = rerank_table(similarity, candidates, log_likelihood, caption_to_audio, [0, 0.01, 1])
    assert [row["R@1"] for row in table] == [0.0, 0.0, 100.0]
    assert choose_weight(table) == 1.0
    useless = np.zeros_like(log_likelihood)
    flat = rerank_table(similarity, candidates, useless, caption_to_audio, [0, 0.5, 2])
    assert choose_weight(flat) == 0.0  # no gain: the smallest weight


def test_slap_search_reranks_on_request(slap, clips, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "sounds"
    folder.mkdir()
    for key, wave in clips.items():
        soundfile.write(folder / f"{key}.wav", wave, RATE)
    monkeypatch.setattr(SLAPInference, "from_pretrained", classmethod(lambda cls, *a, **k: slap))
    common = ["search", str(folder), "--model", "m.zip", "--query", QUERIES[0], "--json",
              "--top-k", "3"]
    assert slap_cli.main(common) == 0
    plain = json.loads(capsys.readouterr().out)
    assert slap_cli.main(common + ["--rerank-weight", "0", "--rerank-depth", "4"]) == 0
    assert json.loads(capsys.readouterr().out) == plain
    assert slap_cli.main(common + ["--rerank-weight", "1000"]) == 0
    reranked = json.loads(capsys.readouterr().out)[QUERIES[0]]
    assert [score for _, score in reranked] == sorted([s for _, s in reranked], reverse=True)
    assert all(score < 0 for _, score in reranked)  # 1000 * a log-likelihood dominates


def test_scoring_stage_reports_reranking(tiny_exp, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    wav_scp, refs = [], []
    for i, query in enumerate(QUERIES):
        path = data / f"u{i}.wav"
        soundfile.write(path, tone(0.8 + 0.3 * i, 200 * (i + 1)), RATE)
        wav_scp.append(f"u{i} {path}")
        refs += [f"u{i} {query}", f"u{i} {query} again"]
    (data / "wav.scp").write_text("\n".join(wav_scp) + "\n")
    (data / "text_refs").write_text("\n".join(refs) + "\n")
    model = ["--slap_train_config", str(tiny_exp / "config.yaml"),
             "--slap_model_file", str(tiny_exp / "model.pth")]
    inference = tmp_path / "inference"
    slap_inference.main([*model, "--data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
                         "--output_dir", str(inference), "--caption", "false"])
    score = tmp_path / "score"
    slap_score.main(["--task", "retrieval", *model, "--data_dir", str(data),
                     "--inference_dir", str(inference), "--output_dir", str(score),
                     "--rerank_depth", "3", "--rerank_valid_dir", str(data),
                     "--rerank_weights", "0", "0.1", "10"])
    results = json.loads((score / "results.json").read_text())
    rerank = results["rerank"]
    t2a = results["retrieval"]["text_to_audio"]
    assert rerank["without"]["R@1"] == t2a["recall_at_1"]
    assert rerank["without"]["R@10"] == t2a["recall_at_10"]
    assert [row["weight"] for row in rerank["valid_table"]] == [0.0, 0.1, 10.0]
    assert rerank["weight"] == choose_weight(rerank["valid_table"])
    assert rerank["seconds_per_query"] > 0 and rerank["queries"] == 8
    assert "caption re-ranking" in (score / "results.md").read_text()
    with pytest.raises(SystemExit, match="rerank_weight or --rerank_valid_dir"):
        slap_score.main(["--task", "retrieval", *model, "--data_dir", str(data),
                         "--inference_dir", str(inference), "--output_dir", str(score),
                         "--rerank_depth", "3"])
