"""Preparation of the zero-shot and speech-retrieval benchmark corpora from miniature copies
of their official layouts (tests/benchmark_miniatures.py), checked against hand counts."""

from pathlib import Path

import pytest

import benchmark_miniatures as mini
from espnet2_slap.corpora import cremad, esc50, gtzan, librispeech, ravdess, urbansound8k
from espnet2_slap.corpora.class_sets import audio_problem, label_words
from espnet2_slap.corpora.kaldi_dir import CorpusLayoutError


def table(path: Path) -> dict:
    """``utt value`` lines (value = rest of the line) as a dict."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split(" ", 1) for line in lines if line.strip())


def counts_of(mapping: dict) -> dict:
    out = {}
    for value in mapping.values():
        out[value] = out.get(value, 0) + 1
    return out


def check_class_set(data: Path, expected: dict) -> dict:
    """The data dir's clip count, class list and label coverage; returns utt2label."""
    wav_scp = table(data / "wav.scp")
    utt2label = table(data / "utt2label")
    labels = (data / "labels").read_text().splitlines()
    assert len(wav_scp) == expected["clips"]
    assert labels == expected["classes"]
    assert set(utt2label) == set(wav_scp)
    assert set(utt2label.values()) == set(expected["classes"])
    assert all(Path(p).is_file() for p in wav_scp.values())
    assert len(table(data / "utt2dur")) == expected["clips"]  # read from each file's header
    return utt2label


def test_label_words():
    assert label_words("dog_bark") == "dog bark"
    assert label_words("door_wood_knock") == "door wood knock"
    assert label_words("Children_Playing") == "children playing"


def test_esc50_all_clips_with_folds(tmp_path, capsys):
    expected = mini.esc50(tmp_path / "src")
    # ESC50 may point at the release folder or at its parent
    assert esc50.prepare(str(tmp_path / "src"), str(tmp_path / "data")) == {"esc50": 5}
    data = tmp_path / "data" / "esc50"
    utt2label = check_class_set(data, expected)
    assert utt2label["esc50-2-100648-A-14"] == "chirping birds"
    assert counts_of(table(data / "utt2fold")) == expected["folds"]
    assert "1 of 6 clips have no audio file" in capsys.readouterr().err
    # names as the corpus spells them, for a classifier's token list
    esc50.prepare(str(expected["root"]), str(tmp_path / "names"), labels_as="names")
    assert (tmp_path / "names" / "esc50" / "labels").read_text().split() == [
        "chirping_birds", "dog", "door_wood_knock"]


def test_esc50_wrong_layout_names_variable_and_column(tmp_path, capsys):
    expected = mini.esc50(tmp_path / "src")
    with pytest.raises(SystemExit) as exit_info:
        esc50.main(["--root", str(tmp_path / "nowhere"), "--out_dir", str(tmp_path / "d")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ESC50=") and "meta/esc50.csv" in err
    csv_path = expected["root"] / "meta" / "esc50.csv"
    csv_path.write_text(csv_path.read_text().replace("category", "label", 1))
    with pytest.raises(CorpusLayoutError, match="no column category"):
        esc50.prepare(str(expected["root"]), str(tmp_path / "d"))


def test_urbansound8k_mixed_rates_and_channels(tmp_path):
    expected = mini.urbansound8k(tmp_path)
    assert urbansound8k.prepare(str(tmp_path), str(tmp_path / "data")) == {"us8k": 4}
    data = tmp_path / "data" / "us8k"
    utt2label = check_class_set(data, expected)
    assert utt2label["us8k-100032-3-0-0"] == "dog bark"
    assert table(data / "wav.scp")["us8k-100648-1-0-0"].endswith("audio/fold2/100648-1-0-0.wav")
    assert counts_of(table(data / "utt2fold")) == expected["folds"]
    durations = {k: float(v) for k, v in table(data / "utt2dur").items()}
    assert all(abs(d - 0.4) < 1e-3 for d in durations.values())  # whatever the rate


@pytest.mark.parametrize("audio_format", ["wav", "au"])
def test_gtzan_both_releases_skip_unreadable(tmp_path, capsys, audio_format):
    expected = mini.gtzan(tmp_path, audio_format)
    assert gtzan.prepare(str(tmp_path), str(tmp_path / "data")) == {"gtzan": 6}
    utt2label = check_class_set(tmp_path / "data" / "gtzan", expected)
    assert utt2label["gtzan-hiphop.00001"] == "hip hop"
    assert "gtzan-jazz.00054" not in utt2label
    err = capsys.readouterr().err
    if audio_format == "wav":
        assert "skipping" in err and "jazz.00054.wav" in err
    suffix = ".wav" if audio_format == "wav" else ".au"
    assert all(p.endswith(suffix) for p in table(tmp_path / "data" / "gtzan" / "wav.scp").values())


def test_gtzan_torchaudio_copy_and_empty_folder(tmp_path):
    for k, genre in enumerate(("rock", "pop")):
        mini.tone(tmp_path / "genres" / genre / f"{genre}.00000.wav", freq=300 + 100 * k)
    assert gtzan.prepare(str(tmp_path), str(tmp_path / "data")) == {"gtzan": 2}
    assert gtzan.prepare(str(tmp_path / "genres"), str(tmp_path / "data")) == {"gtzan": 2}
    (tmp_path / "empty" / "genres" / "rock").mkdir(parents=True)
    with pytest.raises(CorpusLayoutError, match="GTZAN=.*no <genre>/"):
        gtzan.prepare(str(tmp_path / "empty"), str(tmp_path / "data"))


def test_gtzan_prefers_requested_release(tmp_path):
    mini.gtzan(tmp_path, "au")
    mini.gtzan(tmp_path, "wav")
    gtzan.prepare(str(tmp_path), str(tmp_path / "data"), audio_format="wav")
    assert all(p.endswith(".wav") for p in table(tmp_path / "data" / "gtzan" / "wav.scp").values())
    gtzan.prepare(str(tmp_path), str(tmp_path / "data"))  # auto: the original .au release
    assert all(p.endswith(".au") for p in table(tmp_path / "data" / "gtzan" / "wav.scp").values())


def test_cremad_emotions_from_file_names(tmp_path, capsys):
    expected = mini.cremad(tmp_path)
    assert cremad.prepare(str(tmp_path), str(tmp_path / "data")) == {"cremad": 5}
    data = tmp_path / "data" / "cremad"
    utt2label = check_class_set(data, expected)
    assert utt2label["cremad-1001_DFA_ANG_XX"] == "angry"
    assert utt2label["cremad-1040_ITH_SAD_X"] == "sad"
    assert counts_of(table(data / "utt2spk")) == expected["speakers"]
    err = capsys.readouterr().err
    assert "1076_MTI_NEU_XX.wav" in err and "1003_DFA_FEA_XX.wav" in err and "git lfs" in err.lower()
    assert "notes.wav" in err


def test_cremad_only_lfs_pointers_is_a_clear_error(tmp_path):
    audio = tmp_path / "AudioWAV"
    audio.mkdir()
    (audio / "1001_DFA_ANG_XX.wav").write_text("version https://git-lfs.github.com/spec/v1\n")
    with pytest.raises(CorpusLayoutError, match="git lfs pull"):
        cremad.prepare(str(tmp_path), str(tmp_path / "data"))


def test_ravdess_speech_only(tmp_path):
    expected = mini.ravdess(tmp_path / "Audio_Speech_Actors_01-24")
    assert ravdess.prepare(str(tmp_path), str(tmp_path / "data")) == {"ravdess": 5}
    data = tmp_path / "data" / "ravdess"
    utt2label = check_class_set(data, expected)
    assert utt2label["ravdess-03-01-08-01-02-02-01"] == "surprised"
    assert not any("03-02-" in u or "-01-01-03-" in u for u in utt2label)  # song, full-AV
    assert counts_of(table(data / "utt2spk")) == expected["speakers"]


def test_librispeech_transcripts_as_captions(tmp_path, capsys):
    expected = mini.librispeech(tmp_path)
    counts = librispeech.prepare(str(tmp_path), str(tmp_path / "data"))
    assert counts == expected["clips"]
    data = tmp_path / "data" / "librispeech_test_clean"
    utt, caption = expected["first_caption"]
    assert table(data / "text")[utt] == caption
    assert table(data / "text_refs") == table(data / "text")
    assert "1 of 4 clips have no audio file" in capsys.readouterr().err
    assert not (data / "utt2label").exists()
    # only one subset asked for; a missing subset is skipped, not an error
    assert librispeech.prepare(str(expected["root"]), str(tmp_path / "d2"), subsets=["test-other", "dev-clean"]) == {
        "librispeech_test_other": 2}


def test_audio_problem_reads_headers_only(tmp_path):
    good = mini.tone(tmp_path / "a.wav", seconds=0.25)
    assert audio_problem(good) == (None, 0.25)
    (tmp_path / "b.wav").write_bytes(b"")
    problem, duration = audio_problem(tmp_path / "b.wav")
    assert problem and duration is None
