"""The shared corpus-preparation helpers: ids, layout errors, atomic data directories."""

from pathlib import Path

import pytest

from espnet2_slap.corpora.kaldi_dir import (
    Clip,
    CorpusLayoutError,
    check_layout,
    clean_text,
    make_utt_id,
    write_data_dir,
)


def test_utt_id_of_an_awkward_name_is_kaldi_safe_and_distinct():
    a = make_utt_id("clotho", "Rain, on a roof 2.wav")
    b = make_utt_id("clotho", "Rain on a roof 2.wav")
    assert a != b  # same after sanitising, told apart by the hash
    for utt in (a, b):
        assert utt.startswith("clotho-Rain_on_a_roof_2.wav-")
        assert " " not in utt and "," not in utt
    assert make_utt_id("esc50", "1-100032-A-0.wav") == "esc50-1-100032-A-0.wav"  # safe names kept


def test_check_layout_names_the_variable_the_missing_path_and_the_layout(tmp_path):
    (tmp_path / "meta").mkdir()
    with pytest.raises(CorpusLayoutError) as error:
        check_layout("ESC50", str(tmp_path), ["meta/esc50.csv", "audio"], "ESC-50-master/...")
    message = str(error.value)
    assert f"ESC50={tmp_path} has no meta/esc50.csv, audio" in message
    assert "ESC-50-master/..." in message
    with pytest.raises(CorpusLayoutError, match="ESC50 is not set"):
        check_layout("ESC50", "", ["meta"], "layout")
    with pytest.raises(CorpusLayoutError, match="does not exist"):
        check_layout("ESC50", str(tmp_path / "nope"), [], "layout")
    assert check_layout("ESC50", str(tmp_path), ["meta"], "layout") == tmp_path


def test_write_data_dir_sorted_with_refs_labels_and_extras(tmp_path):
    clips = [
        Clip("b", Path("/data/with space, comma.wav"), captions=["second\tclip", "again"],
             duration=2.0, extra={"utt2fold": "2"}),
        Clip("a", Path("/data/a.wav"), captions=["first"], speaker="spk", duration=1.5,
             extra={"utt2fold": "1"}),
    ]
    out = tmp_path / "set"
    assert write_data_dir(out, clips, refs=True) == 2
    read = lambda name: (out / name).read_text(encoding="utf-8").splitlines()  # noqa: E731
    assert read("wav.scp") == ["a /data/a.wav", "b /data/with space, comma.wav"]
    assert read("text") == ["a first", "b second clip"]
    assert read("text_refs") == ["a first", "b second clip", "b again"]
    assert read("utt2spk") == ["a spk", "b b"]
    assert read("spk2utt") == ["b b", "spk a"]
    assert read("utt2dur") == ["a 1.5000", "b 2.0000"]
    assert read("utt2fold") == ["a 1", "b 2"]
    assert not (out / "utt2label").exists()

    write_data_dir(out, [Clip("c", Path("/c.wav"), labels=["dog bark"])], labels=["dog bark"])
    assert read("utt2label") == ["c dog bark"]
    assert read("labels") == ["dog bark"]
    assert not (out / "text_refs").exists()  # the old directory was replaced whole


def test_write_data_dir_rejects_bad_clips_and_keeps_the_old_dir(tmp_path):
    out = tmp_path / "set"
    write_data_dir(out, [Clip("a", Path("/a.wav"), captions=["x"])])
    bad_sets = {
        "duplicated utterance id": [Clip("a", Path("/a.wav"), captions=["x"])] * 2,
        "not Kaldi-safe": [Clip("a b", Path("/a.wav"), captions=["x"])],
        "no caption and no label": [Clip("a", Path("/a.wav"))],
        "ids without spaces": [Clip("a", Path("/a.wav"), labels=["dog bark", "cat"])],
    }
    for reason, clips in bad_sets.items():
        with pytest.raises(ValueError, match=reason):
            write_data_dir(out, clips)
        assert (out / "text").read_text() == "a x\n"


def test_clean_text_collapses_whitespace():
    assert clean_text("  a\n dog\tbarks ") == "a dog barks"
