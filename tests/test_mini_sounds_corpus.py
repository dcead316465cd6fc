"""Tests of the mini_sounds corpus builder (egs2/mini_sounds/slap1/local) on a fixture tree.

The fixture lays out a few dozen synthetic recordings the way the Debian packages do
(tuxpaint stamps, sonic-pi samples, English and translated asterisk prompts with their
transcript files, freedesktop theme sounds, an OpenSFX sound catalogue), so no Debian package
is needed; synthesizers are switched off. The synthesized sources (General MIDI, text to
speech) are checked on their job lists, and the real-size split and zero-shot set on the
catalogues without rendering anything.
"""

import gzip
import io
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
import soundfile as sf

RECIPE = Path(__file__).resolve().parents[1] / "egs2" / "mini_sounds" / "slap1"
sys.path.insert(0, str(RECIPE / "local"))

from mini_sounds.captions import reference_captions  # noqa: E402
from mini_sounds.catalog_files import OPENSFX, OPENSFX_SKIPPED  # noqa: E402
from mini_sounds.catalog_synth import (  # noqa: E402
    DUET_LABEL, ESPEAK_SENTENCES, INSTRUMENTS, MAX_TTS_SENTENCES, SOUNDFONTS, tts_sentence,
)
from mini_sounds.compose import plan_clips, plan_zero_shot  # noqa: E402
from mini_sounds.kaldi_dir import read_table  # noqa: E402
from mini_sounds.midi import Note, midi_file_bytes, midi_parts_bytes  # noqa: E402
from mini_sounds.package_sources import (  # noqa: E402
    clean_transcript, clean_translated_transcript, read_opensfx_catalog,
)
from mini_sounds.packages import (  # noqa: E402
    FORBIDDEN_PACKAGES, REQUIRED_PACKAGES, ensure_packages, missing_packages,
)
from mini_sounds.prepare import check_speaking_rate, collect_jobs  # noqa: E402
from mini_sounds.audio import AudioError  # noqa: E402
from mini_sounds.sources import Recording, read_inventory, read_split_of  # noqa: E402
from mini_sounds.split import SPLITS, VAGUE_LABELS, assign_splits, zero_shot_labels  # noqa: E402
from mini_sounds.stages import compose_stage  # noqa: E402
from mini_sounds.synth_sources import SLOT_S, fluidsynth_jobs  # noqa: E402

SPLIT_DIRS = ("train", "valid", "test")
TUXPAINT = {  # file (below usr/share/tuxpaint/stamps) -> sample rate
    "animals/mammals/bovines/cow.ogg": 44100, "animals/mammals/bovines/cow_white.ogg": 44100,
    "animals/mammals/bovines/bull.ogg": 22050, "animals/mammals/pig.ogg": 44100,
    "animals/mammals/pig_golden.ogg": 44100, "animals/mammals/pig_golden2.ogg": 44100,
    "animals/mammals/deer/deer.ogg": 44100, "animals/mammals/deer/doe.ogg": 44100,
    "animals/mammals/deer/caribou.ogg": 44100, "animals/mammals/bovines/sheep.ogg": 44100,
    "animals/mammals/bovines/sheep_lamb.ogg": 44100, "animals/mammals/bovines/ram.ogg": 44100,
    "animals/birds/rooster.ogg": 22050, "animals/birds/rooster_desc.ogg": 22050,
    "symbols/star.ogg": 22050, "seasonal/halloween/ghost.ogg": 22050,
}
SONIC_PI = [
    "bd_808", "bd_boom", "bd_fat", "sn_dolf", "sn_dub", "sn_zome", "tabla_na", "tabla_te1",
    "tabla_tun1", "bass_hard_c", "bass_thick_c", "bass_trance_c", "drum_tom_hi_hard",
    "drum_tom_lo_soft", "drum_tom_mid_hard", "drum_cymbal_hard", "drum_splash_hard",
    "elec_cymbal", "drum_cymbal_closed", "drum_cymbal_open", "drum_cymbal_pedal", "guit_em9",
    "guit_harmonics", "guit_e_slide", "vinyl_hiss", "vinyl_scratch", "vinyl_rewind",
    "mehackit_phone1",
]
TRANSCRIPTS = """; Core Asterisk Sounds in English
please-hold: Please hold.
goodbye: Goodbye!
letters/d: d
digits/1: one
digits/2: two
auth-thankyou: Thank you.
agent-pass: Please enter your password followed by the pound key.
tt-monkeys: [sound of monkeys screaming]
silence/1: (1 second of silence)
too-long: One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen.
vm-slow: This prompt is spoken very slowly.
not-installed: Not installed.
"""
TRANSLATED = {  # language code -> (prompt folder, transcript file)
    "es": ("es_MX_f_Allison", """; Core Asterisk Sounds in Spanish
auth-thankyou: Gracias.
pls-hold: Por favor, espere...
letters/b: b
digits/5: cinco
vm-tempgreetactive: Sus saludos [temporales] estan actualmente en uso
for: Pour (emphase)
conf-adminmenu: conf-adminmenu: Presione 1 para silenciar
beep: [tono simple]
vm-mismatch: Las contrasenas que usted tecleo no coinciden. Por favor intente de nuevo.
letters/dash: guion [-]
"""),
    "ru": ("ru_RU_f_IvrvoiceRU", """; Core Asterisk Sounds in Russian
activated: Активировано
call-forwarding: Переадресация «вызовов».
"""),
}
FAST_PROMPTS = {"vm-mismatch"}  # 0.8 s of audio for a long transcript: the rate check drops it
# OpenSFX catalogue entries: index -> title and credits, as opensfx.cat names them
OPENSFX_ENTRIES = {
    0: '"Good Year". By Janis Lukss. License: Creative Commons Attribution 3.0 Unported.',
    1: '"Bad Year". By Janis Lukss. License: Creative Commons Attribution 3.0 Unported.',
    2: '"Splat". Original "splattt.mp3" by "SlykMrByches". License: Creative Commons Zero 1.0.',
    3: '"Factory Whistle". By Janis Lukss. License: Creative Commons Attribution 3.0 Unported.',
    4: '"Steam train station departure". Original "steam train horn 01.wav" by '
       '"eliasheuninck". Edited by "Wuzzy". License: Creative Commons Attribution 3.0 Unported.',
    5: '"Steam engine going in tunnel". Original "steam train horn 01.wav" by '
       '"eliasheuninck". Edited by "Wuzzy". License: Creative Commons Attribution 3.0 Unported.',
    6: '"Ship horn". Original "ship2_bergen.aif" by Leon Milo. Edited by Wuzzy. License: '
       'Creative Commons Attribution 3.0 Unported.',
}


def _sound(index: int, rate: int, seconds: float, channels: int = 1,
           decay: float = 1.5) -> np.ndarray:
    """A distinct harmonic tone with a noise burst: (T,) or (T, channels) float32."""
    rng = np.random.default_rng(index)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 110.0 + 23.0 * index
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5))
    wave = wave * np.exp(-decay * t) + 0.2 * rng.standard_normal(t.size) * (t < 0.1)
    wave = (0.3 * wave / np.abs(wave).max()).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def _wav_bytes(wave: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, wave, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def write_opensfx_catalog(path: Path, entries: Dict[int, bytes]) -> None:
    """An OpenTTD sound catalogue: (offset | 0x80000000, size) per sound, then per sound a
    length-prefixed, NUL-terminated name and the RIFF WAV file."""
    count = max(entries) + 1
    blobs = []
    for index in range(count):
        name = (OPENSFX_ENTRIES.get(index, f'"Sound {index}".') + "\0").encode("utf-8")
        blobs.append(bytes([len(name)]) + name + entries.get(index, b""))
    header, offset = b"", 8 * count
    for blob in blobs:
        header += struct.pack("<II", offset | 0x80000000, len(blob))
        offset += len(blob)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + b"".join(blobs))


def build_fixture(root: Path) -> None:
    """Write the fixture package tree below ``root``."""
    index = 0
    stamps = root / "usr/share/tuxpaint/stamps"
    for relative, rate in TUXPAINT.items():
        index += 1
        path = stamps / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), _sound(index, rate, 0.6 + 0.1 * index), rate, format="OGG")
    badger = _sound(99, 44100, 1.5)  # identical audio under two different animal names
    for relative in ("animals/mammals/badger.ogg", "animals/mammals/rodents/beaver.ogg"):
        (stamps / relative).parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(stamps / relative), badger, 44100, format="OGG")
    sf.write(str(stamps / "animals/birds/lark.ogg"), np.zeros(22050, np.float32), 22050,
             format="OGG")  # silent
    (stamps / "animals/amphibians").mkdir(parents=True)
    (stamps / "animals/amphibians/frog.ogg").write_bytes(b"OggS" + bytes(range(200)))  # corrupt

    samples = root / "usr/share/sonic-pi/samples"
    samples.mkdir(parents=True)
    for name in SONIC_PI:
        index += 1
        sf.write(str(samples / f"{name}.flac"), _sound(index, 44100, 0.3 + 0.05 * index, 2),
                 44100, format="FLAC")
    long_loop = _sound(200, 44100, 12.0, decay=0.0)  # 12 s: must be cropped to 10 s
    sf.write(str(samples / "loop_amen.flac"), long_loop, 44100, format="FLAC")

    prompts = root / "usr/share/asterisk/sounds/en_US_f_Allison"
    for line in TRANSCRIPTS.splitlines()[1:]:
        name = line.split(":")[0]
        if name == "not-installed":
            continue
        index += 1
        # about 12 characters per second; speech over 8 s must be skipped
        seconds = 9.0 if name == "vm-slow" else max(0.8, len(line) / 12)
        path = prompts / f"{name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), _sound(index, 8000, seconds, decay=0.0), 8000, subtype="PCM_16")
    doc = root / "usr/share/doc/asterisk-core-sounds-en"
    doc.mkdir(parents=True)
    with gzip.open(doc / "core-sounds-en.txt.gz", "wt") as handle:
        handle.write(TRANSCRIPTS)
    for lang, (folder, transcripts) in TRANSLATED.items():
        for line in transcripts.splitlines()[1:]:
            name = line.split(":")[0]
            index += 1
            seconds = 0.8 if name in FAST_PROMPTS else max(0.8, len(line) / 12)
            path = root / "usr/share/asterisk/sounds" / folder / f"{name}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), _sound(index, 8000, seconds, decay=0.0), 8000,
                     subtype="PCM_16")
        doc = root / f"usr/share/doc/asterisk-core-sounds-{lang}"
        doc.mkdir(parents=True)
        with gzip.open(doc / f"core-sounds-{lang}.txt.gz", "wt", encoding="utf-8") as handle:
            handle.write(transcripts)

    write_opensfx_catalog(
        root / "usr/share/games/openttd/baseset/opensfx/opensfx.cat",
        {i: _wav_bytes(_sound(400 + i, 44100, 1.0 + 0.2 * i), 44100) for i in OPENSFX_ENTRIES})

    theme = root / "usr/share/sounds/freedesktop/stereo"
    theme.mkdir(parents=True)
    shutter = _sound(300, 48000, 0.5, 2)
    for name in ("camera-shutter", "screen-capture"):
        sf.write(str(theme / f"{name}.oga"), shutter, 48000, format="OGG")
    sf.write(str(theme / "bell.oga"), _sound(301, 44100, 0.3), 44100, format="OGG")
    sf.write(str(theme / "audio-channel-front-left.oga"), _sound(302, 48000, 1.2), 48000,
             format="OGG")


@pytest.fixture(scope="module")
def package_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("packages")
    build_fixture(root)
    return root


def _run_data_sh(workdir: Path, root: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    command = ["bash", str(RECIPE / "local" / "data.sh"), "--source_root", str(root),
               "--synth", "none", "--nj", "1", "--num_train", "24", "--num_valid", "5",
               "--num_test", "8", "--seed", "3", *extra]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def built(package_root, tmp_path_factory) -> Path:
    """A recipe folder in which data.sh has built the corpus from the fixture tree."""
    workdir = tmp_path_factory.mktemp("recipe")
    result = _run_data_sh(workdir, package_root)
    assert result.returncode == 0, result.stderr
    (workdir / "data_sh.stderr").write_text(result.stderr)
    return workdir


def _inventory(workdir: Path) -> Dict[str, Recording]:
    return {r.source_id: r for r in read_inventory(workdir / "data/local/inventory.tsv")}


# ------------------------------------------------------------------------ prepare stage
def test_prepare_skips_bad_files_and_resamples(built):
    recordings = read_inventory(built / "data/local/inventory.tsv")
    by_id = {r.source_id: r for r in recordings}
    warnings = (built / "data_sh.stderr").read_text()
    assert "frog.ogg" in warnings and "WARNING" in warnings  # corrupt file: warned, skipped
    assert "tuxpaint-frog" not in by_id and "tuxpaint-lark" not in by_id  # corrupt / silent
    assert not any("desc" in sid or "star" in sid for sid in by_id)
    assert "tuxpaint-badger" not in by_id and "tuxpaint-beaver" not in by_id  # label clash
    shutters = [sid for sid in by_id if by_id[sid].label == "camera shutter"]
    assert len(shutters) == 1  # identical files with one label are merged
    assert by_id["asterisk-please_hold"].phrase == 'a woman says "please hold"'
    assert by_id["asterisk-letters_d"].phrase == 'a woman says the letter "d"'
    assert by_id["asterisk-tt_monkeys"].phrase == "monkeys scream"
    assert not by_id["asterisk-tt_monkeys"].is_speech
    for missing in ("asterisk-silence_1", "asterisk-too_long", "asterisk-vm_slow",
                    "asterisk-not_installed", "tuxpaint-ghost", "sonicpi-mehackit_phone1"):
        assert missing not in by_id
    skipped = (built / "data/local/skipped.tsv").read_text()
    assert "frog.ogg" in skipped and "vm-slow.wav" in skipped and "ghost.ogg" in skipped
    assert abs(by_id["sonicpi-loop_amen"].duration - 10.0) < 1e-3  # cropped to 10 s
    for recording in recordings:
        wave, rate = sf.read(recording.wav)
        assert rate == 16000 and wave.ndim == 1
        assert abs(wave.size / 16000 - recording.duration) < 1e-3
        soft = recording.source_id == "sonicpi-drum_tom_lo_soft"
        expected_peak = 0.9 * 10 ** (-12 / 20) if soft else 0.9
        assert abs(np.abs(wave).max() - expected_peak) < 2e-3, recording.source_id


def test_clean_transcript():
    assert clean_transcript("Please hold...") == "please hold"
    assert clean_transcript("at [@]") == "at"
    assert clean_transcript('Dial 4 for a polite "don\'t call" menu.') == \
        "dial 4 for a polite don't call menu"
    assert clean_transcript("(2 seconds of silence)") is None


# ------------------------------------------------------------------ the built corpus
def test_no_source_recording_in_two_splits(built):
    split_of = read_split_of(built / "data/local/sources.tsv")
    used = {}
    for name in (*SPLIT_DIRS, "zeroshot_test"):
        expected = "test" if name == "zeroshot_test" else name
        sources = read_table(built / "data" / name / "utt2sources")
        used[name] = {sid for line in sources.values() for sid in line.split()}
        assert used[name], name
        assert {split_of[sid] for sid in used[name]} == {expected}
    assert not used["train"] & used["valid"] and not used["train"] & used["test"]
    assert not used["valid"] & used["test"]


def test_clips_are_16k_mono_with_bounded_durations(built):
    for name in (*SPLIT_DIRS, "zeroshot_test"):
        upper = 10.0 if name == "zeroshot_test" else 30.0
        durations = read_table(built / "data" / name / "utt2dur")
        wavs = read_table(built / "data" / name / "wav.scp")
        assert list(wavs) == sorted(wavs) and set(wavs) == set(durations)
        for utt, path in wavs.items():
            info = sf.info(path)
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert 1.0 <= info.duration <= upper + 1e-6
            assert abs(info.duration - float(durations[utt])) < 1e-3
        spk2utt = read_table(built / "data" / name / "spk2utt")
        assert read_table(built / "data" / name / "utt2spk") == {u: u for u in wavs} == spk2utt


def test_every_clip_has_caption_and_references(built):
    inventory = _inventory(built)
    for name in SPLIT_DIRS:
        text = read_table(built / "data" / name / "text")
        sources = read_table(built / "data" / name / "utt2sources")
        refs: Dict[str, List[str]] = {}
        for line in (built / "data" / name / "text_refs").read_text().splitlines():
            utt, _, caption = line.partition(" ")
            refs.setdefault(utt, []).append(caption)
        assert set(text) == set(refs) == set(sources)
        for utt, caption in text.items():
            assert caption and caption in refs[utt]
            assert len(set(refs[utt])) == len(refs[utt]) >= 2
            events = [inventory[sid] for sid in sources[utt].split()]
            for ref in refs[utt]:  # each reference names every event, in playing order
                positions = [ref.find(e.phrase) if e.phrase in ref else ref.find(e.gerund)
                             for e in events]
                assert -1 not in positions and positions == sorted(positions), ref


def test_zero_shot_labels_are_listed_and_seen_in_training(built):
    labels = (built / "data/zeroshot_test/labels").read_text().splitlines()
    assert len(labels) >= 10 and len(set(labels)) == len(labels)
    inventory = _inventory(built)
    split_of = read_split_of(built / "data/local/sources.tsv")
    train_labels = {inventory[sid].label for sid, split in split_of.items() if split == "train"}
    utt2label = read_table(built / "data/zeroshot_test/utt2label")
    sources = read_table(built / "data/zeroshot_test/utt2sources")
    assert set(utt2label.values()) <= set(labels) <= train_labels
    for utt, label in utt2label.items():
        (sid,) = sources[utt].split()  # one recording per clip, a test recording of that class
        assert inventory[sid].label == label and split_of[sid] == "test"


def test_composition_is_deterministic_and_independent_of_nj(built, tmp_path):
    counts = {"train": 24, "valid": 5, "test": 8}
    local = tmp_path / "local"
    shutil.copytree(built / "data/local", local)
    compose_stage(local, tmp_path / "audio", tmp_path / "data", counts, seed=3, nj=2)
    for name in (*SPLIT_DIRS, "zeroshot_test"):
        for table in ("text", "utt2sources", "utt2dur"):
            assert (tmp_path / "data" / name / table).read_text() == \
                (built / "data" / name / table).read_text()
        ours = read_table(tmp_path / "data" / name / "wav.scp")
        theirs = read_table(built / "data" / name / "wav.scp")
        for utt in ours:
            assert Path(ours[utt]).read_bytes() == Path(theirs[utt]).read_bytes()
    other = plan_clips(list(_inventory(built).values()), "train", 24, seed=4)
    assert [p.captions[0] for p in other] != \
        list(read_table(built / "data/train/text").values())


def test_data_sh_is_idempotent_and_fails_cleanly(built, package_root, tmp_path):
    stamp_times = {p: p.stat().st_mtime_ns for p in (built / "data").rglob("*") if p.is_file()}
    again = _run_data_sh(built, package_root)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already") == 3  # stages 2-4 skipped
    assert {p: p.stat().st_mtime_ns for p in stamp_times} == stamp_times
    assert "train" in again.stdout and "zeroshot_test" in again.stdout  # summary printed

    broken = tmp_path / "recipe"
    shutil.copytree(built, broken)
    inventory_file = broken / "data/local/inventory.tsv"
    inventory_file.write_text(inventory_file.read_text().replace(str(built), str(broken)))
    for wav in (broken / "downloads/mini_sounds/sources").glob("*.wav"):
        wav.unlink()  # the source wavs vanished: composing with a new seed must fail
    failed = _run_data_sh(broken, package_root, "--seed", "5", "--stage", "3")
    assert failed.returncode != 0
    assert "assigning source recordings" in failed.stdout  # the new seed re-ran the split
    assert not (broken / "data/local/.compose.done").exists()
    assert not any((broken / "data" / name).exists() for name in (*SPLIT_DIRS, "zeroshot_test"))


# ------------------------------------------------------------------------ unit checks
def _fake_recordings(group: str, labels: int, per_label: int,
                     seconds: float = 2.0) -> List[Recording]:
    return [Recording(f"{group}-{lab:02d}-{i:02d}", "pkg", "origin", f"class {group}{lab}",
                      f"thing {group}{lab} sounds", f"thing {group}{lab} sounding", "CC0",
                      False, seconds, "/nonexistent.wav")
            for lab in range(labels) for i in range(per_label)]


def test_split_rule_keeps_classes_in_train_and_test():
    recordings = (_fake_recordings("a", labels=40, per_label=1)
                  + _fake_recordings("b", labels=15, per_label=3)
                  + _fake_recordings("c", labels=20, per_label=20))
    split_of = assign_splits(recordings, seed=0)
    assert split_of == assign_splits(recordings, seed=0)
    assert split_of != assign_splits(recordings, seed=1)
    by_label: Dict[str, set] = {}
    for r in recordings:
        by_label.setdefault(r.label, set()).add(split_of[r.source_id])
    counts = {s: list(split_of.values()).count(s) for s in SPLIT_DIRS}
    assert 0.07 < counts["valid"] / len(recordings) < 0.14
    assert 0.11 < counts["test"] / len(recordings) < 0.2
    for label, splits in by_label.items():
        n = sum(r.label == label for r in recordings)
        if n >= 3:
            assert {"train", "test"} <= splits, label
    labels = zero_shot_labels(recordings, split_of)
    assert all(by_label[label] >= {"train", "test"} for label in labels)
    assert len(labels) == len([lab for lab, s in by_label.items() if {"train", "test"} <= s])


def test_clip_plans_respect_bounds_and_skew_short():
    pool = (_fake_recordings("long", labels=10, per_label=6, seconds=10.0)
            + _fake_recordings("short", labels=10, per_label=6, seconds=0.4))
    length = {r.source_id: r.duration for r in pool}
    plans = plan_clips(pool, "train", 300, seed=0)
    durations = np.array([p.duration for p in plans])
    assert durations.min() >= 1.0 and durations.max() <= 30.0
    assert {len(p.events) for p in plans} == {1, 2, 3, 4}
    assert np.median(durations) < durations.mean() < 15.0  # right-skewed
    for plan in plans:  # events play one after another and end inside the clip
        ends = [onset + length[sid] for sid, onset, _ in plan.events]
        starts = [onset for _, onset, _ in plan.events]
        assert all(start > end for start, end in zip(starts[1:], ends[:-1]))
        assert ends[-1] <= plan.duration + 1e-9
    single = plan_zero_shot(pool, ["class long1", "class short1"], seed=0)
    assert len(single) == 12 and all(1.0 <= p.duration <= 10.0 for p in single)
    assert {p.label for p in single} == {"class long1", "class short1"}


def test_reference_captions_keep_facts_and_order():
    events = [("a dog barks", "a dog barking"), ("a bell rings", "a bell ringing"),
              ("a cat meows", "a cat meowing")]
    captions = reference_captions(events)
    assert len(set(captions)) == 3
    assert captions[0] == "a dog barks, then a bell rings, then a cat meows"
    for caption in captions:
        assert caption.find("dog") < caption.find("bell") < caption.find("cat")
    assert len(set(reference_captions(events[:1]))) >= 2


def test_midi_writer_encodes_notes():
    data = midi_file_bytes([Note(0.0, 0.5, 60, 100), Note(1.0, 0.25, 64, 40)], 9, 0)
    assert data[:4] == b"MThd" and data[14:18] == b"MTrk"
    track_length = int.from_bytes(data[18:22], "big")
    assert len(data) == 22 + track_length and data.endswith(b"\xff\x2f\x00")
    assert data.count(bytes([0x99, 60, 100])) == 1 and data.count(bytes([0x89, 64, 0])) == 1
    with pytest.raises(ValueError):
        midi_file_bytes([Note(0.0, 0.5, 200, 100)], 0, 0)


# ----------------------------------------------------------------- the newer sources
def test_translated_prompts_are_captioned_with_their_language(built):
    by_id = _inventory(built)
    assert by_id["asterisk_es-pls_hold"].phrase == 'a woman says "por favor, espere" in spanish'
    assert by_id["asterisk_es-pls_hold"].gerund == \
        'a woman saying "por favor, espere" in spanish'
    assert by_id["asterisk_es-pls_hold"].label == "spanish speech"
    assert by_id["asterisk_es-pls_hold"].is_speech
    assert by_id["asterisk_es-letters_b"].phrase == 'a woman says the letter "b" in spanish'
    assert by_id["asterisk_es-letters_dash"].phrase == 'a woman says "guion" in spanish'
    assert by_id["asterisk_ru-call_forwarding"].phrase == \
        'a woman says "переадресация вызовов" in russian'
    assert by_id["asterisk_ru-activated"].package == "asterisk-core-sounds-ru-wav"
    assert by_id["asterisk_ru-activated"].licence.startswith("CC-BY-3.0")
    for left_out in ("vm_tempgreetactive", "for", "conf_adminmenu", "beep", "vm_mismatch"):
        assert f"asterisk_es-{left_out}" not in by_id, left_out
    skipped = (built / "data/local/skipped.tsv").read_text(encoding="utf-8")
    assert re.search(r"es_MX_f_Allison/vm-mismatch\.wav\tspeaking rate", skipped)
    assert re.search(r"es_MX_f_Allison/beep\.wav\ta tone", skipped)
    assert re.search(r"es_MX_f_Allison/for\.wav\tno usable transcript", skipped)


def test_clean_translated_transcript():
    assert clean_translated_transcript("Por favor, espere...") == "por favor, espere"
    assert clean_translated_transcript("Переадресация «вызовов».") == "переадресация вызовов"
    assert clean_translated_transcript("L\u2019opérateur est occupé!") == "l'opérateur est occupé"
    assert clean_translated_transcript("trattino [-]") == "trattino"
    for rejected in ("Pour (emphase)", "Sus saludos [temporales] estan en uso",
                     "conf-adminmenu: Presione 1", "<beep ascending>", "[tono simple]", "..."):
        assert clean_translated_transcript(rejected) is None, rejected
    assert clean_transcript("<beep ascending>") is None


def test_speaking_rate_check():
    check_speaking_rate(30, 3.0)  # 10 characters per second
    check_speaking_rate(1, 1.2)  # a slowly spoken letter: only the upper bound applies
    for chars, seconds in ((62, 0.8), (40, 20.0), (5, 0.1)):
        with pytest.raises(AudioError):
            check_speaking_rate(chars, seconds)


def test_opensfx_sounds_are_decoded_and_credited(built, package_root):
    by_id = _inventory(built)
    kept = {sid for sid in by_id if sid.startswith("opensfx-")}
    assert kept == {"opensfx-04", "opensfx-06"}  # entries 0-3 and 5 are left out
    horn = by_id["opensfx-06"]
    assert (horn.label, horn.phrase) == ("ship horn", "a ship horn blows")
    assert horn.package == "openttd-opensfx" and horn.origin.endswith("opensfx.cat#6")
    assert "ship2_bergen.aif" in horn.licence and horn.licence.startswith("CC-BY-SA-3.0")
    wave, rate = sf.read(horn.wav)
    assert rate == 16000 and abs(wave.size / 16000 - 2.2) < 0.05  # 2.2 s at 44.1 kHz
    skipped = (built / "data/local/skipped.tsv").read_text(encoding="utf-8")
    assert "opensfx.cat#5\tan edit of the same original recording" in skipped
    entries = read_opensfx_catalog(
        package_root / "usr/share/games/openttd/baseset/opensfx/opensfx.cat")
    assert [index for index, *_ in entries] == list(range(7))
    assert entries[6][1] == OPENSFX_ENTRIES[6]


def test_every_opensfx_entry_is_kept_or_skipped_for_a_reason():
    assert not set(OPENSFX) & set(OPENSFX_SKIPPED)
    assert set(OPENSFX) | set(OPENSFX_SKIPPED) == set(range(73))  # OpenSFX 1.0.3 has 73


def _fake_soundfonts(root: Path) -> None:
    for font in SOUNDFONTS:
        (root / font.path).parent.mkdir(parents=True, exist_ok=True)
        (root / font.path).write_bytes(b"")


def test_general_midi_renderings_are_described_exactly(tmp_path):
    assert fluidsynth_jobs(tmp_path)[0] == []  # no soundfont: nothing to render
    _fake_soundfonts(tmp_path)
    jobs, skipped = fluidsynth_jobs(tmp_path)
    assert not skipped
    specs = [spec for job in jobs for spec in job.specs]
    ids = [spec.source_id for spec in specs]
    assert len(ids) == len(set(ids)) > 1500
    for job in jobs:
        assert len(job.specs) == len(job.params[1])  # one slot per rendering
        for programs, notes in job.params[1]:
            channels = {channel for channel, _ in programs}
            for channel, note in notes:
                assert channel in channels and 0 <= note.key <= 127
                assert note.start + note.duration <= SLOT_S - 1.5  # room for the release
    by_id = {spec.source_id: spec for spec in specs}
    assert by_id["fluid-p000-low_softly"].phrase == "a piano plays a low note softly"
    assert by_id["fluid-p000-low_softly"].level_db < 0
    assert by_id["timgm-p040-scale_fall"].phrase == "a violin plays a falling scale of five notes"
    assert by_id["timgm-p040-scale_fall"].package == "timgm6mb-soundfont"
    assert by_id["fluid-p052-chord"].phrase == "a choir sings a chord"
    assert "fluid-p040-chord" not in by_id  # a violin is not given chords
    assert by_id["fluid-k079-twice"].phrase == "a cuica squeaks twice"
    duet = by_id["fluid-d042_073-over"]
    assert duet.label == DUET_LABEL and DUET_LABEL in VAGUE_LABELS
    assert duet.phrase == "a cello holds a long note while a flute plays three rising notes"
    for font in SOUNDFONTS:  # presets that sound like another soundfont's are left out
        for program in font.skip_programs:
            assert not any(sid.startswith(f"{font.tag}-p{program:03d}-") for sid in ids)
            assert not any(sid.startswith(f"{font.tag}-d") and f"{program:03d}" in sid
                           for sid in ids)
    labels = {instrument.label for instrument in INSTRUMENTS}
    assert {"piano", "violin", "koto", "bagpipe"} <= labels


def test_midi_parts_change_programs_and_silence_between_slots():
    data = midi_parts_bytes([(0.0, 0, 40), (5.0, 0, 73), (0.0, 9, 0)],
                            [(0, Note(0.0, 1.0, 60, 90)), (0, Note(5.0, 1.0, 72, 90)),
                             (9, Note(0.5, 0.2, 38, 100))], silence_at=[5.0])
    assert data.count(bytes([0xC0, 40])) == 1 and data.count(bytes([0xC0, 73])) == 1
    assert data.count(bytes([0xB0, 120, 0])) == 1 and data.count(bytes([0xB9, 120, 0])) == 1
    assert data.count(bytes([0x99, 38, 100])) == 1
    with pytest.raises(ValueError):  # a note before its channel has a program
        midi_parts_bytes([(1.0, 0, 40)], [(0, Note(0.0, 1.0, 60, 90))])


def test_text_to_speech_sentences_are_spoken_once():
    jobs, skipped = collect_jobs(Path("/nonexistent"), ("espeak", "festival", "flite"))
    assert not skipped or all("missing" in reason for _, reason in skipped)
    tts = [spec for job in jobs for spec in job.specs if job.kind != "file"]
    sentences = [re.search(r'"(.*)"', spec.phrase).group(1) for spec in tts]
    assert len(sentences) == len(set(sentences)) == len(ESPEAK_SENTENCES) + 300
    assert {job.kind for job in jobs if job.kind != "file"} == {"espeak", "festival", "flite"}
    for job in jobs:
        if job.kind in ("festival", "flite"):
            voice, texts = job.params
            assert len(texts) == len(job.specs) == 50
            for spec, text in zip(job.specs, texts):
                assert spec.phrase.endswith(f'says "{text}"') and spec.is_speech
                assert spec.label == "synthetic speech" and spec.licence
    assert len({tts_sentence(i) for i in range(MAX_TTS_SENTENCES)}) == MAX_TTS_SENTENCES


def test_real_size_split_and_zero_shot_set_from_the_catalogues(tmp_path):
    """The synthesized part of a default build, split and planned without rendering:
    no recording in two splits, and a zero-shot set of at least 150 clips."""
    _fake_soundfonts(tmp_path)
    jobs, _ = collect_jobs(tmp_path, ("fluidsynth", "espeak", "festival", "flite"))
    recordings = [Recording(s.source_id, s.package, s.origin, s.label, s.phrase, s.gerund,
                            s.licence, s.is_speech, 1.5, "/nonexistent.wav")
                  for job in jobs for s in job.specs]
    split_of = assign_splits(recordings, seed=0)
    assert set(split_of) == {r.source_id for r in recordings}
    labels = zero_shot_labels(recordings, split_of)
    pools = {split: [r for r in recordings if split_of[r.source_id] == split]
             for split in SPLITS}
    counts = {"train": 1200, "valid": 150, "test": 200}
    for split in SPLITS:
        for plan in plan_clips(pools[split], split, counts[split], seed=0):
            assert {split_of[sid] for sid, _, _ in plan.events} == {split}
    zero_shot = plan_zero_shot(pools["test"], labels, seed=0)
    assert len(zero_shot) >= 150 and len(labels) >= 50
    assert {split_of[plan.events[0][0]] for plan in zero_shot} == {"test"}


def test_package_list_matches_install_script():
    install = (Path(__file__).resolve().parents[1] / "tools" / "install.sh").read_text()
    listed = re.search(r"apt_packages=\((.*?)\)", install, re.S).group(1).split()
    assert set(REQUIRED_PACKAGES) <= set(listed)
    assert not FORBIDDEN_PACKAGES & (set(listed) | set(REQUIRED_PACKAGES))


def test_package_check_names_what_is_missing(tmp_path, monkeypatch):
    fake = tmp_path / "dpkg-query"  # reports every package installed except flite
    fake.write_text('#!/bin/sh\nfor a; do p=$a; done\n'
                    '[ "$p" = flite ] && exit 1\nprintf installed\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    assert missing_packages() == ["flite"]
    with pytest.raises(RuntimeError, match="apt-get install -y --no-install-recommends flite"):
        ensure_packages(install=False)
    assert ensure_packages(install=False, packages=["festival"]) == []
    with pytest.raises(ValueError):
        ensure_packages(install=False, packages=["hydrogen-drumkits"])
