"""Data preparation of the tagging corpora on miniature official layouts (hand-counted)."""

from pathlib import Path

import numpy as np
import pytest
import soundfile

from espnet2_slap.cls.folds import split_folds
from espnet2_slap.corpora import audioset, esc50, speechcommands


def write_wav(path: Path, seconds: float = 0.5, rate: int = 16000, channels: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.2 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    soundfile.write(path, np.stack([wave] * channels, axis=1) if channels > 1 else wave, rate)
    return path


def lines(path: Path):
    return path.read_text().splitlines()


# ----------------------------------------------------------------------------- AudioSet
CLASS_CSV = """index,mid,display_name
0,/m/09x0r,"Speech"
1,/m/0bt9lr,"Dog"
2,/m/05tny_,"Bark"
"""
BALANCED_CSV = """# Segments csv created Sun Mar  5 10:54:31 2017
# num_ytids=5, num_segs=5, num_unique_labels=3, num_positive_labels=7
# YTID, start_seconds, end_seconds, positive_labels
--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/m/0bt9lr"
--ZhevVpy1s, 50.000, 60.000, "/m/0bt9lr,/m/05tny_"
-0BIyqJj9ZU, 30.000, 40.000, "/m/09x0r"
-0DdlOuIFUI, 50.000, 60.000, "/m/05tny_,/m/zzzz_unknown"
-0SdAVK79lg, 30.000, 40.000, "/m/09x0r"
"""
EVAL_CSV = """# Segments csv created Sun Mar  5 10:54:25 2017
# num_ytids=3, num_segs=3, num_unique_labels=2, num_positive_labels=4
# YTID, start_seconds, end_seconds, positive_labels
--4gqARaEJE, 0.000, 10.000, "/m/09x0r,/m/0bt9lr"
--BfvyPmVMo, 20.000, 30.000, "/m/05tny_"
--U7joUcTCo, 0.000, 10.000, "/m/09x0r,/m/05tny_"
"""
UNBALANCED_CSV = """# Segments csv created Sun Mar  5 10:54:25 2017
# num_ytids=2, num_segs=2, num_unique_labels=1, num_positive_labels=2
# YTID, start_seconds, end_seconds, positive_labels
---1_cCGK4M, 0.000, 10.000, "/m/09x0r"
---2_BBVHAA, 30.000, 40.000, "/m/0bt9lr"
"""


@pytest.fixture
def audioset_root(tmp_path) -> Path:
    """Official CSVs; clips named as three download tools do; one balanced, one eval clip missing."""
    root = tmp_path / "audioset"
    root.mkdir()
    for name, text in (("class_labels_indices.csv", CLASS_CSV), ("balanced_train_segments.csv", BALANCED_CSV),
                       ("eval_segments.csv", EVAL_CSV), ("unbalanced_train_segments.csv", UNBALANCED_CSV)):
        (root / name).write_text(text)
    audio = root / "audio"
    write_wav(audio / "balanced_train_segments" / "Y--PJHxphWEs.wav")          # Y<YTID>
    write_wav(audio / "balanced_train_segments" / "--ZhevVpy1s_50.000.flac")   # <YTID>_<start>
    write_wav(audio / "balanced_train_segments" / "-0BIyqJj9ZU_30_40.wav", channels=2)
    write_wav(audio / "balanced_train_segments" / "-0DdlOuIFUI.wav")           # <YTID>
    # -0SdAVK79lg: never downloaded
    write_wav(audio / "eval_segments" / "Y--4gqARaEJE.wav")
    write_wav(audio / "eval_segments" / "Y--BfvyPmVMo.wav")
    (audio / "eval_segments" / "Y--U7joUcTCo.wav").write_bytes(b"")          # a failed download
    write_wav(audio / "unbalanced" / "Y---1_cCGK4M.wav")
    return root


def test_audioset_csv_comments_quoted_labels_and_missing_clips(audioset_root, tmp_path, capsys):
    counts = audioset.prepare(str(audioset_root), str(tmp_path / "data"))
    assert counts == {"balanced_train": 4, "eval": 2}
    err = capsys.readouterr().err
    assert "balanced_train: 1 segments have no audio file" in err
    assert "1 labels are not in class_labels_indices.csv" in err
    assert "skipping" in err and "Y--U7joUcTCo.wav" in err  # the empty file: counted, not fatal
    data = tmp_path / "data" / "balanced_train"
    labels = dict(line.split(" ", 1) for line in lines(data / "utt2label"))
    assert sorted(labels.values()) == sorted(["/m/09x0r /m/0bt9lr", "/m/0bt9lr /m/05tny_", "/m/09x0r", "/m/05tny_"])
    assert lines(data / "labels") == ["/m/09x0r", "/m/0bt9lr", "/m/05tny_"]  # index order
    assert "/m/0bt9lr Dog" in lines(data / "label_names")
    text = dict(line.split(" ", 1) for line in lines(data / "text"))
    assert text == labels  # ESPnet's CLS task reads the labels from text
    assert len(lines(tmp_path / "data" / "eval" / "wav.scp")) == 2


def test_audioset_full_adds_unbalanced_and_error_names_variable(audioset_root, tmp_path, capsys):
    counts = audioset.prepare(str(audioset_root), str(tmp_path / "data"), full=True)
    assert counts["full_train"] == 5  # 4 balanced + 1 of 2 unbalanced
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        audioset.main(["--root", str(tmp_path / "nowhere"), "--out_dir", str(tmp_path / "d")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: AUDIOSET=") and "set AUDIOSET in db.sh" in err.replace("Set", "set")
    assert "balanced_train_segments.csv" in err


def test_audioset_stems_of_download_tools():
    stems = audioset.candidate_stems("abc", "30.000", "40.000")
    for name in ("abc", "Yabc", "abc_30", "abc_30.000", "Yabc_30.000_40.000", "abc_30_40", "abc_30000"):
        assert name in stems


# ----------------------------------------------------------------------------- ESC-50
def esc50_root(tmp_path) -> Path:
    """ESC-50-master with 10 rows: 2 classes x 5 folds; one file missing."""
    release = tmp_path / "ESC-50-master"
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    for fold in range(1, 6):
        for target, category in ((0, "dog"), (40, "chirping_birds")):
            name = f"{fold}-{100 + target}-A-{target}.wav"
            rows.append(f"{name},{fold},{target},{category},False,{100 + target},A")
            if (fold, target) != (5, 40):
                write_wav(release / "audio" / name, rate=44100)
    (release / "meta").mkdir(parents=True)
    (release / "meta" / "esc50.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


def test_esc50_folds_for_cross_validation(tmp_path):
    root = esc50_root(tmp_path)
    counts = esc50.prepare(str(root), str(tmp_path / "data"), labels_as="names")
    assert counts == {"esc50": 9}
    data = tmp_path / "data" / "esc50"
    assert sorted(set(line.split()[1] for line in lines(data / "text"))) == ["chirping_birds", "dog"]
    folds = split_folds(str(data), str(tmp_path / "data"))
    assert folds["esc50_fold1_test"] == 2 and folds["esc50_fold1_train"] == 7
    assert folds["esc50_fold5_test"] == 1 and folds["esc50_fold5_train"] == 8
    train = {line.split()[0] for line in lines(tmp_path / "data" / "esc50_fold5_train" / "wav.scp")}
    test = {line.split()[0] for line in lines(tmp_path / "data" / "esc50_fold5_test" / "wav.scp")}
    assert not train & test and len(train | test) == 9
    fold_of = dict(line.split() for line in lines(tmp_path / "data" / "esc50_fold5_train" / "utt2fold"))
    assert set(fold_of) == train and "5" not in fold_of.values()
    assert (tmp_path / "data" / "esc50_fold5_test" / "labels").read_text() == (data / "labels").read_text()


# ----------------------------------------------------------------------------- Speech Commands
def speechcommands_root(tmp_path) -> Path:
    """3 words x 2 speakers x 2 takes; list files put 2 clips in valid, 3 in test; 2.5 s of noise."""
    root = tmp_path / "speech_commands_v0.02"
    for word in ("yes", "go", "marvin"):
        for speaker in ("0a7c2a8d", "bb05582b"):
            for take in (0, 1):
                write_wav(root / word / f"{speaker}_nohash_{take}.wav", seconds=1.0)
    (root / "validation_list.txt").write_text("yes/0a7c2a8d_nohash_0.wav\nmarvin/bb05582b_nohash_1.wav\n")
    (root / "testing_list.txt").write_text("go/0a7c2a8d_nohash_0.wav\ngo/0a7c2a8d_nohash_1.wav\nyes/bb05582b_nohash_0.wav\n")
    write_wav(root / "_background_noise_" / "white_noise.wav", seconds=2.5)
    return root


def test_speechcommands_official_lists_35_words(tmp_path):
    root = speechcommands_root(tmp_path)
    counts = speechcommands.prepare(str(root), str(tmp_path / "data"))
    assert counts == {"train": 7, "valid": 2, "test": 3}
    test = dict(line.split() for line in lines(tmp_path / "data" / "test" / "text"))
    assert sorted(test.values()) == ["go", "go", "yes"]
    assert lines(tmp_path / "data" / "train" / "labels") == ["go", "marvin", "yes"]


def test_speechcommands_12_class_protocol(tmp_path):
    root = speechcommands_root(tmp_path)
    counts = speechcommands.prepare(str(root), str(tmp_path / "data"), protocol="12")
    # 2 one-second noise windows (0, 1) -> both train (windows 8 and 9 would go to valid/test)
    assert counts == {"sc12_train": 9, "sc12_valid": 2, "sc12_test": 3}
    train = [line.split()[1] for line in lines(tmp_path / "data" / "sc12_train" / "text")]
    assert sorted(set(train)) == ["_silence_", "_unknown_", "go", "yes"]
    assert train.count("_unknown_") == 3 and train.count("_silence_") == 2
    assert len(list((tmp_path / "data" / "sc12_silence").glob("*.wav"))) == 2


def test_speechcommands_missing_root_names_variable(tmp_path, capsys):
    with pytest.raises(SystemExit):
        speechcommands.main(["--root", str(tmp_path), "--out_dir", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert err.startswith("error: SPEECHCOMMANDS=") and "validation_list.txt" in err
