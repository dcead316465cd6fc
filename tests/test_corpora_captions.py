"""Clotho, AudioCaps and WavCaps preparation against miniature official layouts."""

import json
import re
import shutil
from pathlib import Path

import pytest

from caption_miniatures import (
    AUDIOCAPS_EXPECTED,
    CLOTHO_EXPECTED,
    CLOTHO_LEADING_SPACE,
    WAVCAPS_EXPECTED,
    WAVCAPS_LONG_UTT,
    WAVCAPS_UNZIPPED,
    build_audiocaps,
    build_audiocaps_aac,
    build_audiocaps_download,
    build_clotho,
    build_wavcaps,
    counts,
    read_table,
    tone,
)
from espnet2_slap.corpora import audiocaps, caption_sets, clotho, wavcaps
from espnet2_slap.corpora.kaldi_dir import make_utt_id

REPO = Path(__file__).resolve().parents[1]

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
    assert "error: AUDIOCAPS=" in err
    assert "none of the 1 clips of test.csv has a readable audio file" in err
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
    assert "wavcaps FreeSound: 1 clips, 1 blacklisted" in capsys.readouterr().err
    # without the blacklists the three overlapping clips come back (as 3, bbc 1, fsd 2, sb 1)
    assert wavcaps.main(["--root", str(root), "--out_dir", str(tmp_path / "all"),
                         "--blacklists", "none"]) == {"wavcaps": 7}


def test_wavcaps_refuses_missing_or_unknown_blacklists(tmp_path, capsys):
    root = build_wavcaps(tmp_path / "wavcaps")
    blacklist = root / "json_files" / "blacklist" / "blacklist_exclude_test_ac.json"
    blacklist.write_text(json.dumps({"AudioCapz": ["x"]}))
    with pytest.raises(SystemExit):
        wavcaps.main(["--root", str(root), "--out_dir", str(tmp_path / "d")])
    assert "unknown key 'AudioCapz'" in capsys.readouterr().err
    for path in blacklist.parent.glob("*.json"):
        path.unlink()
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
    assert total == 4 + 4 and counts(data / "both") == (8, 4 + 20)
    check_caption_set(data / "both")
    # both have durations (from the audio headers): every clip keeps its own
    durations = read_table(data / "both" / "utt2dur")
    assert len(durations) == 8 and float(durations[WAVCAPS_LONG_UTT]) == 31.0
    with pytest.raises(ValueError, match="is in both"):
        caption_sets.combine_data_dirs(data / "twice", [data / "wavcaps", data / "both"])


# ------------------------------------------------------------- the releases as people have them
def test_clotho_name_beginning_with_a_space_is_taken_verbatim(tmp_path, capsys):
    root = build_clotho(tmp_path / "clotho")
    clotho.main(["--root", str(root), "--out_dir", str(tmp_path / "data"),
                 "--splits", "development"])
    dev = read_table(tmp_path / "data" / "clotho_development" / "wav.scp")
    assert [p for p in dev.values() if Path(p).name == CLOTHO_LEADING_SPACE]  # the very file
    utt = make_utt_id("clotho", CLOTHO_LEADING_SPACE)
    assert utt in dev and utt != make_utt_id("clotho", CLOTHO_LEADING_SPACE.strip())
    err = capsys.readouterr().err
    assert "no audio file" not in err and "is not on disk" not in err


def test_clotho_lenient_match_is_used_and_named(tmp_path, capsys):
    root = build_clotho(tmp_path / "clotho")
    # an unpacker that dropped the leading space: the CSV's name is not on disk verbatim
    (root / "development" / CLOTHO_LEADING_SPACE).rename(
        root / "development" / CLOTHO_LEADING_SPACE.strip())
    assert clotho.prepare(str(root), str(tmp_path / "data"), splits="development") == {
        "clotho_development": 4}
    dev = read_table(tmp_path / "data" / "clotho_development" / "wav.scp")
    assert Path(dev[make_utt_id("clotho", CLOTHO_LEADING_SPACE)]).name == "leading space.wav"
    err = capsys.readouterr().err
    assert f"file name {CLOTHO_LEADING_SPACE!r} is not on disk; using 'leading space.wav'" in err


@pytest.mark.parametrize("version,at", [("0.6", "parent"), ("0.6", "AUDIOCAPS"),
                                        ("0.5", "parent"), ("0.5", "AUDIOCAPS")])
def test_audiocaps_as_aac_datasets_writes_it(tmp_path, version, at):
    root = build_audiocaps_aac(tmp_path / "aac", version)
    given = root if at == "parent" else root / "AUDIOCAPS"
    out = tmp_path / "data"
    assert audiocaps.main(["--root", str(given), "--out_dir", str(out)]) == {
        name: clips for name, (clips, _) in AUDIOCAPS_EXPECTED.items()}
    for name, expected in AUDIOCAPS_EXPECTED.items():
        assert counts(out / name) == expected
        check_caption_set(out / name)
    test = read_table(out / "audiocaps_test" / "wav.scp")
    assert test["audiocaps-fffffffffff_40"].endswith(
        "AUDIOCAPS/audio_32000Hz/test/fffffffffff_40.flac")


def test_audiocaps_without_csv_names_every_folder_searched(tmp_path, capsys):
    root = build_audiocaps(tmp_path / "audiocaps")
    shutil.rmtree(root / "dataset")
    with pytest.raises(SystemExit):
        audiocaps.main(["--root", str(root), "--out_dir", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert "no train/val/test.csv found; searched" in err
    for folder in (".", "dataset", "csv_files_v1", "csv_files", "AUDIOCAPS/csv_files_v1",
                   "AUDIOCAPS"):
        assert f"{root / folder}/" in err, folder


@pytest.mark.parametrize("ext", [".ogg", ".wav", ".flac"])
def test_audiocaps_as_audiocaps_download_writes_it(tmp_path, ext, capsys):
    root = build_audiocaps_download(tmp_path / "acd", ext)
    out = tmp_path / "data"
    audiocaps.main(["--root", str(root), "--out_dir", str(out)])
    for name, expected in AUDIOCAPS_EXPECTED.items():
        assert counts(out / name) == expected, name  # dataset2.0/ is not read
        check_caption_set(out / name)
    val = read_table(out / "audiocaps_val" / "wav.scp")
    assert val["audiocaps-ddddddddddd_20"] == str(root / "val" / f"12{ext}")  # the row fetched
    assert val["audiocaps--eeeeeeeeee_0"] == str(root / "val" / f"20{ext}")  # the first row
    assert "audiocaps_train: 1 of 3 clips have no audio file" in capsys.readouterr().err


def test_audiocaps_unreadable_file_falls_back_to_the_clips_next_file(tmp_path, capsys):
    root = build_audiocaps_download(tmp_path / "acd")
    (root / "val" / "20.ogg").write_bytes(b"")  # the first row's file is empty, row 21's is fine
    audiocaps.prepare(str(root), str(tmp_path / "data"), splits="val")
    val = read_table(tmp_path / "data" / "audiocaps_val" / "wav.scp")
    assert val["audiocaps--eeeeeeeeee_0"] == str(root / "val" / "21.ogg")
    err = capsys.readouterr().err
    assert f"audiocaps_val: skipping {root / 'val' / '20.ogg'}: an empty file" in err


def zero_one_clip(corpus: str, root: Path) -> Path:
    """Empty one audio file of a caption miniature (as an interrupted copy leaves it)."""
    path = {"clotho": root / "evaluation" / "traffic.wav",
            "audiocaps": root / "audio" / "train" / "aaaaaaaaaaa_30.flac",
            "wavcaps": root / "SoundBible" / "2219.flac"}[corpus]
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize("corpus,set_name,gone", [
    ("clotho", "clotho_evaluation", "clotho-traffic.wav"),
    ("audiocaps", "audiocaps_train", "audiocaps-aaaaaaaaaaa_30"),
    ("wavcaps", "wavcaps", "wavcaps-sb-2219"),
])
def test_unreadable_audio_is_skipped_named_and_counted(tmp_path, capsys, corpus, set_name, gone):
    build = {"clotho": build_clotho, "audiocaps": build_audiocaps, "wavcaps": build_wavcaps}
    module = {"clotho": clotho, "audiocaps": audiocaps, "wavcaps": wavcaps}[corpus]
    root = build[corpus](tmp_path / corpus)
    empty = zero_one_clip(corpus, root)
    expected = {**CLOTHO_EXPECTED, **AUDIOCAPS_EXPECTED, **WAVCAPS_EXPECTED}[set_name]
    out = tmp_path / "data"
    written = module.main(["--root", str(root), "--out_dir", str(out)])  # the other sets too
    assert written[set_name] == expected[0] - 1
    assert gone not in read_table(out / set_name / "wav.scp")
    check_caption_set(out / set_name)
    err = capsys.readouterr().err
    assert f"skipping {empty}: an empty file (0 bytes)" in err
    short = "wavcaps_sb" if corpus == "wavcaps" else set_name
    assert re.search(rf"^{short}: 1 of \d+ clips have unreadable audio and are skipped", err, re.M)
    assert str(empty) in (out / "local" / f"{short}_unreadable_audio.txt").read_text()


def test_undecodable_audio_is_skipped_with_the_decoders_reason(tmp_path, capsys):
    root = build_clotho(tmp_path / "clotho")
    (root / "evaluation" / "traffic.wav").write_bytes(b"RIFF\x00\x00 half a download")
    assert clotho.prepare(str(root), str(tmp_path / "data"), splits="evaluation") == {
        "clotho_evaluation": 1}
    assert re.search(r"skipping \S+traffic.wav: cannot read audio \(.+\)", capsys.readouterr().err)


@pytest.mark.parametrize("layout", ["unzipped", "elsewhere"])
def test_wavcaps_zips_unpacked_in_place_are_found(tmp_path, layout, capsys):
    root = build_wavcaps(tmp_path / "wavcaps", layout)
    out = tmp_path / "data"
    assert wavcaps.main(["--root", str(root), "--out_dir", str(out)]) == {"wavcaps": 4}
    assert counts(out / "wavcaps") == WAVCAPS_EXPECTED["wavcaps"]
    check_caption_set(out / "wavcaps")
    path = read_table(out / "wavcaps" / "wav.scp")["wavcaps-sb-2219"]
    assert f"{WAVCAPS_UNZIPPED}/SoundBible_flac/2219.flac" in path


def test_wavcaps_without_audio_folder_names_what_was_searched(tmp_path, capsys):
    root = build_wavcaps(tmp_path / "wavcaps")
    shutil.rmtree(root / "SoundBible")
    with pytest.raises(SystemExit):
        wavcaps.main(["--root", str(root), "--out_dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert "no audio folder for SoundBible; searched" in err and "--audio_dir" in err
    for folder in ("SoundBible", "SoundBible_flac", "waveforms/SoundBible_flac",
                   f"{WAVCAPS_UNZIPPED}/SoundBible_flac"):
        assert str(root / folder) in err, folder
    assert f"every */waveforms/SoundBible_flac below {root}" in err


def test_wavcaps_each_blacklist_drops_what_its_name_says(tmp_path, capsys):
    root = build_wavcaps(tmp_path / "wavcaps")
    wavcaps.main(["--root", str(root), "--out_dir", str(tmp_path / "all")])
    err = capsys.readouterr().err
    # "all" also drops the AudioCaps train clip, through blacklist_exclude_all_ac.json
    assert "wavcaps-as-Yastrain" not in read_table(tmp_path / "all" / "wavcaps" / "wav.scp")
    assert ("wavcaps AudioSet_SL: 1 clips, 2 blacklisted (blacklist_exclude_all_ac.json: 2, "
            "blacklist_exclude_test_ac.json: 1, blacklist_exclude_ub8k_esc50_vggsound.json: 0)"
            ) in err
    assert "applying blacklist_exclude_all_ac.json (every AudioCaps and Clotho clip, train" in err
    # the test-overlap list alone keeps it
    wavcaps.main(["--root", str(root), "--out_dir", str(tmp_path / "test"),
                  "--blacklists", "blacklist_exclude_test_ac.json"])
    utts = read_table(tmp_path / "test" / "wavcaps" / "wav.scp")
    assert "wavcaps-as-Yastrain" in utts and "wavcaps-as-Yasblack" not in utts


def test_wavcaps_readme_says_which_blacklist_does_what():
    readme = (REPO / "egs2" / "wavcaps" / "slap1" / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Blacklists", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip(" `"): line for line in section.splitlines()
            if line.startswith("| `blacklist_")}
    assert set(rows) == {"blacklist_exclude_test_ac.json", "blacklist_exclude_all_ac.json",
                         "blacklist_exclude_ub8k_esc50_vggsound.json"}
    assert "train included" in rows["blacklist_exclude_all_ac.json"]
    assert "captioning" in rows["blacklist_exclude_test_ac.json"]  # the authors' pretraining
    assert "retrieval" in rows["blacklist_exclude_ub8k_esc50_vggsound.json"]
    assert "`--blacklists all`" in section and "AudioCaps train" in section


def test_audiocaps_readme_names_the_downloaders_layouts_read():
    readme = (REPO / "egs2" / "audiocaps" / "slap1" / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| ")]
    aac = [r for r in rows if r.startswith("| aac-datasets 0.6")]
    download = [r for r in rows if r.startswith("| audiocaps-download")]
    assert aac and "AUDIOCAPS/csv_files_v1/<split>.csv" in aac[0] and "audio_32000Hz" in aac[0]
    assert download and "<split>/<audiocap_id>.ogg" in download[0] and "dataset/" in download[0]


def test_clotho_lenient_match_never_takes_another_rows_file(tmp_path, capsys):
    root = build_clotho(tmp_path / "clotho")
    (root / "development" / CLOTHO_LEADING_SPACE).unlink()
    # "leading space.wav" is a row of its own: the row " leading space.wav" has no audio
    tone(root / "development" / "leading space.wav", 1.0)
    with open(root / "clotho_captions_development.csv", "a", encoding="utf-8") as handle:
        handle.write("leading space.wav,a,b,c,d,e\n")
    clotho.prepare(str(root), str(tmp_path / "data"), splits="development")
    err = capsys.readouterr().err
    assert "clotho_development: 1 of 5 clips have no audio file" in err and "not on disk" not in err
    missing = tmp_path / "data" / "local" / "clotho_development_missing_audio.txt"
    assert missing.read_text() == f"{CLOTHO_LEADING_SPACE}\n"
