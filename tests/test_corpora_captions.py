"""Clotho, AudioCaps and WavCaps preparation against miniature official layouts."""

import json
import re
from pathlib import Path

import pytest

from caption_miniatures import (
    AUDIOCAPS_EXPECTED,
    CLOTHO_EXPECTED,
    WAVCAPS_EXPECTED,
    WAVCAPS_LONG_UTT,
    build_audiocaps,
    build_clotho,
    build_wavcaps,
    counts,
    read_table,
)
from espnet2_slap.corpora import audiocaps, caption_sets, clotho, wavcaps

SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


def check_caption_set(data_dir: Path):
    """Every file agrees: ids Kaldi-safe, text = first caption, utt2captions = text_refs."""
    wav_scp, text = read_table(data_dir / "wav.scp"), read_table(data_dir / "text")
    captions = {u: json.loads(v) for u, v in read_table(data_dir / "utt2captions").items()}
    refs = {}
    for line in (data_dir / "text_refs").read_text(encoding="utf-8").splitlines():
        utt, caption = line.split(" ", 1)
        refs.setdefault(utt, []).append(caption)
    assert list(wav_scp) == sorted(wav_scp)
    assert set(wav_scp) == set(text) == set(captions) == set(refs)
    for utt, path in wav_scp.items():
        assert SAFE_ID.match(utt), utt
        assert Path(path).is_file(), path
        assert captions[utt] == refs[utt] and text[utt] == captions[utt][0]


@pytest.mark.parametrize("layout", ["zenodo", "aac"])
def test_clotho_both_layouts_hand_counted(tmp_path, layout, capsys):
    root = build_clotho(tmp_path / "clotho", layout)
    assert clotho.main(["--root", str(root), "--out_dir", str(tmp_path / "data")]) == {
        name: clips for name, (clips, _) in CLOTHO_EXPECTED.items()}
    for name, expected in CLOTHO_EXPECTED.items():
        assert counts(tmp_path / "data" / name) == expected
        check_caption_set(tmp_path / "data" / name)
    dev = read_table(tmp_path / "data" / "clotho_development" / "wav.scp")
    # "Rain, on a roof 2" and "Rain on a roof 2" sanitise alike: the hash keeps them apart
    rainy = sorted(p for p in dev.values() if "roof" in p)
    assert [Path(p).name for p in rainy] == ["Rain on a roof 2.wav", "Rain, on a roof 2.wav"]
    assert "not listed.wav" not in " ".join(dev.values())
    assert "clotho_evaluation: 1 of 3 clips have no audio file" in capsys.readouterr().err
    missing = tmp_path / "data" / "local" / "clotho_evaluation_missing_audio.txt"
    assert missing.read_text() == "gone.wav\n"


def test_clotho_splits_option_and_layout_errors(tmp_path, capsys):
    root = build_clotho(tmp_path / "clotho")
    assert clotho.main(["--root", str(root), "--out_dir", str(tmp_path / "d"),
                        "--splits", "evaluation"]) == {"clotho_evaluation": 2}
    assert not (tmp_path / "d" / "clotho_development").exists()
    capsys.readouterr()
    for argv, message in [
        (["--root", str(tmp_path)], "CLOTHO=" + str(tmp_path) + ": no clotho_captions_<split>.csv"),
        (["--root", ""], "CLOTHO is not set. Set CLOTHO in db.sh"),
        (["--root", str(root), "--splits", "test"], "unknown split(s) test"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            clotho.main(argv + ["--out_dir", str(tmp_path / "e")])
        assert exit_info.value.code == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err, err
        if "split(s)" not in message:
            assert "clotho_audio_files/<split>" in err or "clotho_csv_files" in err  # the layout


def test_audiocaps_hand_counted_missing_clip_reported(tmp_path, capsys):
    root = build_audiocaps(tmp_path / "audiocaps")
    out = tmp_path / "data"
    audiocaps.main(["--root", str(root), "--out_dir", str(out)])
    for name, expected in AUDIOCAPS_EXPECTED.items():
        assert counts(out / name) == expected
        check_caption_set(out / name)
    train = read_table(out / "audiocaps_train" / "wav.scp")
    assert sorted(Path(p).name for p in train.values()) == ["Ybbbbbbbbbbb.wav", "aaaaaaaaaaa_30.flac"]
    captions = json.loads(read_table(out / "audiocaps_train" / "utt2captions")["audiocaps-aaaaaaaaaaa_30"])
    assert captions == ["a dog barks", "a dog barks loudly"]  # two rows, one clip
    val = read_table(out / "audiocaps_val" / "wav.scp")
    assert Path(val["audiocaps--eeeeeeeeee_0"]).name == "Y-eeeeeeeeee.flac"  # flat folder
    assert "audiocaps_train: 1 of 3 clips have no audio file" in capsys.readouterr().err
    assert (out / "local" / "audiocaps_train_missing_audio.txt").read_text() == "ccccccccccc_10\n"


def test_audiocaps_audio_dir_option_and_no_audio_is_a_layout_error(tmp_path, capsys):
    root = build_audiocaps(tmp_path / "audiocaps")
    (root / "audio").rename(tmp_path / "elsewhere")
    with pytest.raises(SystemExit):
        audiocaps.main(["--root", str(root), "--out_dir", str(tmp_path / "d"), "--splits", "test"])
    err = capsys.readouterr().err
    assert "error: AUDIOCAPS=" in err and "none of the 1 clips of test.csv has an audio file" in err
    assert audiocaps.main(["--root", str(root), "--out_dir", str(tmp_path / "d"), "--splits",
                           "test", "--audio_dir", str(tmp_path / "elsewhere")]) == {"audiocaps_test": 1}


def test_wavcaps_blacklists_applied_and_long_clip_kept(tmp_path, capsys):
    root = build_wavcaps(tmp_path / "wavcaps")
    out = tmp_path / "data"
    assert wavcaps.main(["--root", str(root), "--out_dir", str(out)]) == {"wavcaps": 4}
    assert counts(out / "wavcaps") == WAVCAPS_EXPECTED["wavcaps"]
    check_caption_set(out / "wavcaps")
    utts = set(read_table(out / "wavcaps" / "wav.scp"))
    assert utts == {"wavcaps-as-Yas1", "wavcaps-bbc-07011001", WAVCAPS_LONG_UTT, "wavcaps-sb-2219"}
    assert float(read_table(out / "wavcaps" / "utt2dur")[WAVCAPS_LONG_UTT]) == 31.0
    assert "wavcaps FreeSound: 1 clips, 1 blacklisted, 1 without audio, of 3" in capsys.readouterr().err
    # without the blacklists the two overlapping clips come back (as 2, bbc 1, fsd 2, sb 1)
    assert wavcaps.main(["--root", str(root), "--out_dir", str(tmp_path / "all"),
                         "--blacklists", "none"]) == {"wavcaps": 6}


def test_wavcaps_refuses_missing_or_unknown_blacklists(tmp_path, capsys):
    root = build_wavcaps(tmp_path / "wavcaps")
    blacklist = root / "json_files" / "blacklist" / "blacklist_exclude_test_ac.json"
    blacklist.write_text(json.dumps({"AudioCapz": ["x"]}))
    with pytest.raises(SystemExit):
        wavcaps.main(["--root", str(root), "--out_dir", str(tmp_path / "d")])
    assert "unknown key 'AudioCapz'" in capsys.readouterr().err
    blacklist.unlink()
    with pytest.raises(SystemExit):
        wavcaps.main(["--root", str(root), "--out_dir", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert "error: WAVCAPS=" in err and "no json_files/blacklist/*.json" in err
    assert not (tmp_path / "d" / "wavcaps").exists()


def test_combine_joins_caption_sets_and_refuses_duplicate_ids(tmp_path):
    build_wavcaps(tmp_path / "wc")
    build_clotho(tmp_path / "cl")
    wavcaps.prepare(str(tmp_path / "wc"), str(tmp_path / "data"))
    clotho.prepare(str(tmp_path / "cl"), str(tmp_path / "data"), splits="development")
    data = tmp_path / "data"
    total = caption_sets.combine_data_dirs(data / "both", [data / "wavcaps", data / "clotho_development"])
    assert total == 4 + 3 and counts(data / "both") == (7, 4 + 15)
    check_caption_set(data / "both")
    assert not (data / "both" / "utt2dur").exists()  # Clotho has none: left out, not half-filled
    with pytest.raises(ValueError, match="is in both"):
        caption_sets.combine_data_dirs(data / "twice", [data / "wavcaps", data / "both"])
