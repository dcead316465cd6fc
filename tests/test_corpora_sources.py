"""What a prepared set was made from (espnet2_slap.corpora.sources): recorded by every corpus
CLI, compared with the disk, prepared again on a change."""

import json
import os
import subprocess
import sys
from pathlib import Path

import benchmark_miniatures as mini
from caption_miniatures import build_audiocaps, read_table, tone
from espnet2_slap.corpora import audiocaps, esc50, sources


def check(*dirs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "espnet2_slap.corpora.sources", "check",
                           *map(str, dirs)], capture_output=True, text=True, timeout=60)


def test_manifest_records_the_command_and_the_folders_searched(tmp_path, monkeypatch):
    root = build_audiocaps(tmp_path / "audiocaps")
    monkeypatch.chdir(tmp_path)
    argv = ["--root", "audiocaps", "--out_dir", "data", "--splits", "test"]
    audiocaps.main(argv)
    manifest = json.loads((tmp_path / "data" / "audiocaps_test" / sources.MANIFEST).read_text())
    assert manifest["module"] == "espnet2_slap.corpora.audiocaps"
    assert manifest["argv"] == argv and manifest["cwd"] == str(tmp_path)
    assert manifest["sets"] == ["audiocaps_test"]
    folders = manifest["folders"]
    assert folders[str(root / "audio" / "test")]["files"] == 1  # where the clip was found
    assert folders[str(root / "dataset")]["files"] == 3  # the CSVs
    assert folders[str(root / "audio_32000Hz" / "test")] is None  # searched, absent
    assert sources.changes(tmp_path / "data" / "audiocaps_test") == []
    assert sources.recorded_digest(tmp_path / "data" / "audiocaps_test") == manifest["digest"]


def test_added_clip_is_a_change_and_preparing_again_takes_it(tmp_path):
    release = mini.esc50(tmp_path / "esc")["root"]
    data = tmp_path / "data"
    esc50.main(["--root", str(release), "--out_dir", str(data)])
    assert len(read_table(data / "esc50" / "wav.scp")) == 5
    assert (data / "local" / "esc50_missing_audio.txt").read_text() == "2-102414-D-30.wav\n"
    before = sources.recorded_digest(data / "esc50")
    assert check(data).returncode == 0

    # the clip that was missing is added to the same folder
    mini.tone(release / "audio" / "2-102414-D-30.wav", seconds=0.5, rate=44100, freq=900)
    found = sources.changes(data / "esc50")
    assert found == [f"{release / 'audio'}: 5 -> 6 files"]
    done = check(data)
    assert done.returncode == 1 and "changed since it was prepared: " in done.stdout

    ok, log = sources.prepare_again(data / "esc50", tmp_path / "prepare.log")
    assert ok, log
    assert len(read_table(data / "esc50" / "wav.scp")) == 6
    assert sources.changes(data / "esc50") == []
    assert sources.recorded_digest(data / "esc50") != before
    assert (tmp_path / "prepare.log").read_text() == log
    assert not (data / "local" / "esc50_missing_audio.txt").exists()  # no stale listing


def test_replaced_file_and_edited_csv_are_changes(tmp_path):
    release = mini.esc50(tmp_path / "esc")["root"]
    data = tmp_path / "data"
    esc50.main(["--root", str(release), "--out_dir", str(data)])
    clip = release / "audio" / "1-100032-A-0.wav"
    stat = clip.stat()
    tone(clip, 0.5, 16000, 123.0)  # same name, new content
    os.utime(clip, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert sources.changes(data / "esc50") == [
        f"{release / 'audio'}: a file was replaced or modified (5 files)"]
    esc50.main(["--root", str(release), "--out_dir", str(data)])
    csv_path = release / "meta" / "esc50.csv"
    csv_path.write_text(csv_path.read_text() + "\n")
    assert sources.changes(data / "esc50") == [
        f"{release / 'meta'}: a file was replaced or modified (1 files)"]


def test_set_without_manifest_is_reported_not_guessed(tmp_path):
    release = mini.esc50(tmp_path / "esc")["root"]
    esc50.prepare(str(release), str(tmp_path / "data"))  # the Python API records nothing
    assert sources.changes(tmp_path / "data" / "esc50") is None
    done = check(tmp_path / "data" / "esc50")
    assert done.returncode == 2 and "no record of what it was prepared from" in done.stdout
    ok, log = sources.prepare_again(tmp_path / "data" / "esc50")
    assert not ok and "no prepared_from.json" in log


def test_hidden_entries_do_not_count(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a.wav").write_bytes(b"x")
    before = sources.folder_signature(str(folder))
    (folder / ".DS_Store").write_bytes(b"finder")
    (folder / "sub").mkdir()
    after = sources.folder_signature(str(folder))
    assert before["files"] == after["files"] == 1 and before["stats"] != after["stats"]
    (folder / "sub" / "x").write_bytes(b"y")  # inside a sub-folder: that folder's business
    assert sources.folder_signature(str(folder)) == after
    assert sources.folder_signature(str(tmp_path / "absent")) is None
    assert Path(tmp_path / "f").is_dir()
