"""The split and compose stages (prepare lives in :mod:`mini_sounds.prepare`)."""

import shutil
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from mini_sounds.compose import ClipPlan, plan_clips, plan_zero_shot, render_clips
from mini_sounds.kaldi_dir import write_data_dir
from mini_sounds.sources import (
    Recording,
    read_inventory,
    read_split_of,
    write_sources_table,
)
from mini_sounds.split import SPLITS, assign_splits, zero_shot_labels

ZERO_SHOT = "zeroshot_test"


def split_stage(local_dir: Path, seed: int) -> Dict[str, str]:
    """Assign every inventory recording to a split and write ``sources.tsv``."""
    recordings = read_inventory(local_dir / "inventory.tsv")
    split_of = assign_splits(recordings, seed)
    write_sources_table(local_dir / "sources.tsv", recordings, split_of)
    return split_of


def _publish(plans: List[ClipPlan], name: str, recordings: Sequence[Recording], audio_dir: Path,
             data_dir: Path, nj: int, labels: Optional[Sequence[str]] = None) -> None:
    """Render ``plans`` into a partial folder, move it in place, then write ``data_dir/name``."""
    wav_of = {r.source_id: r.wav for r in recordings}
    final_clips = audio_dir / "clips" / name
    partial_clips = audio_dir / "clips" / f"{name}.partial"
    shutil.rmtree(partial_clips, ignore_errors=True)
    render_clips(plans, wav_of, partial_clips, nj)
    shutil.rmtree(final_clips, ignore_errors=True)
    partial_clips.rename(final_clips)
    write_data_dir(data_dir / name, plans, final_clips, labels)


def compose_stage(local_dir: Path, audio_dir: Path, data_dir: Path, counts: Dict[str, int],
                  seed: int, nj: int) -> None:
    """Compose ``counts[split]`` clips per split, plus the zero-shot test dir.

    All four data dirs are removed first, so a failure part-way leaves no stale or mixed
    set of dirs behind.
    """
    for name in (*SPLITS, ZERO_SHOT):
        shutil.rmtree(data_dir / name, ignore_errors=True)
    recordings = read_inventory(local_dir / "inventory.tsv")
    split_of = read_split_of(local_dir / "sources.tsv")
    unassigned = [r.source_id for r in recordings if r.source_id not in split_of]
    if unassigned:
        raise ValueError(f"{local_dir / 'sources.tsv'} lacks {unassigned[:3]}: "
                         "rerun the split stage")
    labels = zero_shot_labels(recordings, split_of)
    for split in SPLITS:
        pool = [r for r in recordings if split_of[r.source_id] == split]
        _publish(plan_clips(pool, split, counts[split], seed), split, recordings, audio_dir,
                 data_dir, nj)
    test_pool = [r for r in recordings if split_of[r.source_id] == "test"]
    _publish(plan_zero_shot(test_pool, labels, seed), ZERO_SHOT, recordings, audio_dir, data_dir,
             nj, labels)
