"""The recipe CLIs (slap_inference, slap_score) and the people's CLI (slap)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile

from espnet2_slap.bin import slap_cli, slap_inference, slap_pack, slap_score
from espnet2_slap.inference.embedding_index import EmbeddingIndex
from espnet2_slap.inference.slap_inference import SLAPInference


def tone(seconds, freq, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="module")
def test_set(tmp_path_factory):
    """A data dir with wav.scp (one 44.1 kHz stereo file), text, text_refs, utt2label, labels."""
    root = tmp_path_factory.mktemp("data")
    wav_scp, refs, text, labels = [], [], [], []
    for i, (freq, label) in enumerate([(220, "dog"), (440, "bell"), (880, "piano")]):
        path = root / f"u{i}.wav"
        if i == 0:
            soundfile.write(path, np.stack([tone(1.5, freq, 44100)] * 2, axis=1), 44100)
        else:
            soundfile.write(path, tone(1.0 + i, freq), 16000)
        wav_scp.append(f"u{i} {path}")
        text.append(f"u{i} the sound of a {label}")
        refs += [f"u{i} the sound of a {label}", f"u{i} a {label} is heard"]
        labels.append(f"u{i} {label}")
    (root / "wav.scp").write_text("\n".join(wav_scp) + "\n")
    (root / "text").write_text("\n".join(text) + "\n")
    (root / "text_refs").write_text("\n".join(refs) + "\n")
    (root / "utt2label").write_text("\n".join(labels) + "\n")
    (root / "labels").write_text("dog\nbell\npiano\n")
    return root


def model_args(exp):
    return ["--slap_train_config", str(exp / "config.yaml"), "--slap_model_file", str(exp / "model.pth")]


def test_inference_writes_kaldi_embeddings_and_captions(tiny_exp, test_set, tmp_path):
    out = tmp_path / "inference"
    slap_inference.main([
        *model_args(tiny_exp),
        "--data_path_and_name_and_type", f"{test_set}/wav.scp,speech,sound",
        "--data_path_and_name_and_type", f"{test_set}/text,text,text",
        "--output_dir", str(out), "--max_caption_length", "8",
    ])
    audio = kaldiio.load_scp(str(out / "audio_embeds.scp"))
    text = kaldiio.load_scp(str(out / "text_embeds.scp"))
    assert sorted(audio) == sorted(text) == ["u0", "u1", "u2"]
    api = SLAPInference(tiny_exp / "config.yaml", tiny_exp / "model.pth")
    expected = api.embed_audio([test_set / "u0.wav", test_set / "u1.wav"])
    np.testing.assert_allclose(audio["u0"], expected[0], atol=1e-6)
    np.testing.assert_allclose(audio["u1"], expected[1], atol=1e-6)
    captions = (out / "captions").read_text().splitlines()
    assert [line.split(maxsplit=1)[0] for line in captions] == ["u0", "u1", "u2"]

    key_file = tmp_path / "keys"
    key_file.write_text("u2 whatever\n")
    out2 = tmp_path / "subset"
    slap_inference.main([
        *model_args(tiny_exp), "--key_file", str(key_file), "--caption", "false",
        "--data_path_and_name_and_type", f"{test_set}/wav.scp,speech,sound", "--output_dir", str(out2),
    ])
    assert list(kaldiio.load_scp(str(out2 / "audio_embeds.scp"))) == ["u2"]
    assert not (out2 / "captions").exists()


def test_inference_rejects_bad_arguments(tiny_exp, test_set, tmp_path):
    with pytest.raises(SystemExit, match="no such file"):
        slap_inference.main([*model_args(tiny_exp), "--data_path_and_name_and_type",
                             f"{tmp_path}/nope.scp,speech,sound", "--output_dir", str(tmp_path)])
    keys = tmp_path / "keys"
    keys.write_text("u9\n")
    with pytest.raises(SystemExit, match="not in the data"):
        slap_inference.main([*model_args(tiny_exp), "--key_file", str(keys),
                             "--data_path_and_name_and_type", f"{test_set}/wav.scp,speech,sound",
                             "--output_dir", str(tmp_path)])


def test_score_retrieval_and_zeroshot(tiny_exp, test_set, tmp_path):
    inference = tmp_path / "inference"
    slap_inference.main([*model_args(tiny_exp), "--data_path_and_name_and_type",
                         f"{test_set}/wav.scp,speech,sound", "--output_dir", str(inference),
                         "--max_caption_length", "6"])
    score = tmp_path / "score"
    slap_score.main(["--task", "retrieval", *model_args(tiny_exp), "--data_dir", str(test_set),
                     "--inference_dir", str(inference), "--output_dir", str(score)])
    results = json.loads((score / "results.json").read_text())
    t2a = results["retrieval"]["text_to_audio"]
    assert len(t2a["ranks"]) == 6  # two reference captions per clip
    assert 0 <= t2a["recall_at_1"] <= t2a["recall_at_10"] == 100.0
    assert t2a["chance"]["recall_at_1"] == pytest.approx(100 / 3)
    assert "captioning" in results and "CIDEr-D" in results["captioning"]["scores"]
    assert (score / "rank_distribution.png").stat().st_size > 1000
    assert "Text" in (score / "results.md").read_text()

    zs = tmp_path / "zs"
    slap_score.main(["--task", "zeroshot", *model_args(tiny_exp), "--data_dir", str(test_set),
                     "--inference_dir", str(inference), "--output_dir", str(zs),
                     "--labels", str(test_set / "labels")])
    zeroshot = json.loads((zs / "results.json").read_text())["zeroshot"]
    assert zeroshot["n_classes"] == 3 and zeroshot["chance_top1"] == pytest.approx(100 / 3)
    assert [c["class_name"] for c in zeroshot["per_class"]] == ["dog", "bell", "piano"]


def test_score_accepts_an_empty_generated_caption(tiny_exp, test_set, tmp_path):
    """A caption decoder may stop at once; ``slap_inference`` then writes a line with the id
    only, and scoring counts it as an empty caption instead of rejecting the file."""
    inference = tmp_path / "inference"
    slap_inference.main([*model_args(tiny_exp), "--data_path_and_name_and_type",
                         f"{test_set}/wav.scp,speech,sound", "--output_dir", str(inference),
                         "--max_caption_length", "6"])
    (inference / "captions").write_text("u0 \nu1 a dog is heard\nu2 a piano\n", encoding="utf-8")
    score = tmp_path / "score"
    slap_score.main(["--task", "retrieval", *model_args(tiny_exp), "--data_dir", str(test_set),
                     "--inference_dir", str(inference), "--output_dir", str(score)])
    results = json.loads((score / "results.json").read_text())
    # BLEU-1 by hand: 5 of the 6 generated words match a reference ("dog" does not); the
    # empty caption counts with length 0 against its closest reference (4 words), so the
    # hypotheses total 6 words against 12: brevity penalty exp(1 - 12 / 6).
    assert results["captioning"]["scores"]["BLEU-1"] == pytest.approx(5 / 6 * np.exp(-1), abs=1e-6)
    assert "| u0 | (empty) |" in (score / "results.md").read_text()


@pytest.fixture(scope="module")
def packed_model(tiny_exp, tmp_path_factory):
    out = tmp_path_factory.mktemp("packed") / "model.zip"
    slap_pack.main(["--slap_train_config", str(tiny_exp / "config.yaml"),
                    "--slap_model_file", str(tiny_exp / "model.pth"), "--outpath", str(out)])
    return out


def test_people_cli_skips_bad_files_and_keeps_going(packed_model, test_set, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # the unpack cache goes under ~/.cache
    folder = tmp_path / "sounds"
    folder.mkdir()
    soundfile.write(folder / "good.wav", tone(1.0, 300), 16000)
    soundfile.write(folder / "also_good.flac", tone(2.0, 500), 22050)
    (folder / "broken.wav").write_bytes(b"not audio")
    soundfile.write(folder / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    index = tmp_path / "index.npz"
    assert slap_cli.main(["embed", str(folder), "--model", str(packed_model), "--out", str(index), "--quiet"]) == 0
    out = capsys.readouterr()
    assert "wrote 2 embeddings" in out.out
    assert "skipped" in out.err and "broken.wav" in out.err and "empty.wav" in out.err
    # The index holds the two good files, embedded as the Python API embeds them.
    api = SLAPInference.from_pretrained(str(packed_model), cache_dir=tmp_path / "api")
    written = EmbeddingIndex.load(index)
    good = sorted(str(folder / name) for name in ("good.wav", "also_good.flac"))
    assert sorted(written.keys) == good
    np.testing.assert_allclose(written.embeddings, api.embed_audio(written.keys), atol=1e-5)

    code = slap_cli.main(["classify", str(folder / "good.wav"), "--model", str(packed_model),
                          "--labels", "dog", "bell", "--json", "--quiet"])
    result = json.loads(capsys.readouterr().out)[str(folder / "good.wav")]
    (expected,) = api.classify(folder / "good.wav", ["dog", "bell"])
    assert code == 0 and [label for label, _ in result] == [label for label, _ in expected]
    np.testing.assert_allclose([p for _, p in result], [p for _, p in expected], rtol=1e-5)
    assert expected[0][1] > expected[1][1] + 1e-6  # not a tie: the order is meaningful

    code = slap_cli.main(["search", "--index", str(index), "--model", str(packed_model),
                          "--query", "a tone", "--top-k", "1", "--json", "--quiet"])
    hits = json.loads(capsys.readouterr().out)["a tone"]
    (best,) = api.retrieve_audio("a tone", written, top_k=1)
    assert code == 0 and [hit[0] for hit in hits] == [best[0][0]]

    code = slap_cli.main(["caption", str(folder / "good.wav"), "--model", str(packed_model),
                          "--max-length", "5", "--quiet"])
    assert code == 0 and capsys.readouterr().out.startswith(str(folder / "good.wav"))

    assert slap_cli.main(["caption", str(folder / "broken.wav"), "--model", str(packed_model), "--quiet"]) == 1
    assert slap_cli.main(["classify", str(folder), "--model", str(packed_model), "--labels-file",
                          str(tmp_path / "missing.txt"), "--quiet"]) == 2
    empty_labels = tmp_path / "labels.txt"
    empty_labels.write_text("\n")
    assert slap_cli.main(["classify", str(folder / "good.wav"), "--model", str(packed_model),
                          "--labels-file", str(empty_labels), "--quiet"]) == 2
    assert "labels is empty" in capsys.readouterr().err


def test_a_moved_experiment_still_scores(tiny_exp, test_set, tmp_path, monkeypatch):
    """Stage 7's layout (job outputs under logdir/, their scp files merged into the set's
    folder, paths relative to the recipe), then the experiment renamed and a new one made at
    the old name: scoring the moved one reads its own embeddings."""
    monkeypatch.chdir(tmp_path)
    set_dir = Path("exp/slap_a/inference_best/test")
    for job, keys in ((1, "u0 u1"), (2, "u2")):
        (tmp_path / f"keys.{job}").write_text("".join(f"{k}\n" for k in keys.split()))
        slap_inference.main([*model_args(tiny_exp), "--caption", "false",
                             "--data_path_and_name_and_type", f"{test_set}/wav.scp,speech,sound",
                             "--key_file", str(tmp_path / f"keys.{job}"),
                             "--output_dir", str(set_dir / "logdir" / f"output.{job}")])
    scps = [(set_dir / "logdir" / f"output.{job}" / "audio_embeds.scp").read_text()
            for job in (1, 2)]
    (set_dir / "audio_embeds.scp").write_text("".join(scps))
    assert "exp/slap_a/" in scps[0]  # the written paths name the experiment
    score_args = ["--task", "zeroshot", *model_args(tiny_exp), "--data_dir", str(test_set),
                  "--labels", str(test_set / "labels")]
    before = slap_score.run(slap_score.get_parser().parse_args(
        [*score_args, "--inference_dir", str(set_dir), "--output_dir", "score_a"]), API(tiny_exp))

    Path("exp/slap_a").rename("exp/slap_b")
    decoy = Path("exp/slap_a/inference_best/test/logdir/output.1")  # a new run at the old name
    decoy.mkdir(parents=True)
    with kaldiio.WriteHelper(f"ark:{decoy}/audio_embeds.ark") as writer:
        for key in ("u0", "u1"):
            writer(key, np.ones(16, dtype=np.float32))
    moved = Path("exp/slap_b/inference_best/test")
    after = slap_score.run(slap_score.get_parser().parse_args(
        [*score_args, "--inference_dir", str(moved), "--output_dir", "score_b"]), API(tiny_exp))
    assert after[0]["zeroshot"] == before[0]["zeroshot"]
    keys, embeddings = slap_score.load_audio_embeddings(moved)
    expected = API(tiny_exp).embed_audio([test_set / f"{k}.wav" for k in keys])
    np.testing.assert_allclose(embeddings, expected, atol=1e-6)

    # Moved elsewhere and read from another working directory, too.
    Path("exp/slap_b").rename(tmp_path / "elsewhere")
    monkeypatch.chdir(test_set)
    keys_elsewhere, moved_again = slap_score.load_audio_embeddings(
        tmp_path / "elsewhere" / "inference_best" / "test")
    assert keys_elsewhere == keys
    np.testing.assert_array_equal(moved_again, embeddings)


_API = {}


def API(exp):
    """One loaded model per experiment for the tests below."""
    if exp not in _API:
        _API[exp] = SLAPInference(exp / "config.yaml", exp / "model.pth")
    return _API[exp]


@pytest.mark.parametrize("command", [
    ["classify", "--labels", "dog", "bell", "--top-k", "2"],
    ["search", "--query", "a tone", "--top-k", "1"],
])
def test_json_output_is_only_json(packed_model, test_set, tmp_path, command):
    """On this machine (no flash-attn) ESPnet prints a notice at import; it goes to stderr."""
    env = {**os.environ, "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    slap = Path(sys.executable).with_name("slap")
    result = subprocess.run(
        [str(slap), command[0], str(test_set / "u1.wav"), str(test_set / "u2.wav"),
         "--model", str(packed_model), "--json", *command[1:]],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    parsed = json.loads(result.stdout)  # nothing but the result
    assert isinstance(parsed, dict) and parsed
    if importlib.util.find_spec("flash_attn") is None:
        assert "Failed to import Flash Attention" in result.stderr  # where the notice went
