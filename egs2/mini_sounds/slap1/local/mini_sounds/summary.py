"""Audit and summary of the finished corpus: sizes per split and the split-leak check."""

from pathlib import Path
from typing import Dict, List, NamedTuple

from mini_sounds.kaldi_dir import read_table
from mini_sounds.sources import read_inventory, read_split_of
from mini_sounds.split import SPLITS
from mini_sounds.stages import ZERO_SHOT


class DirSummary(NamedTuple):
    """Size of one data dir: clips, total hours, class labels and source recordings used."""

    name: str
    clips: int
    hours: float
    classes: int
    sources: int


def audit(data_dir: Path, local_dir: Path) -> List[DirSummary]:
    """Summarise every data dir and check that each uses only its own split's recordings.

    Raises ValueError naming the first clip that uses a recording of another split.
    """
    label_of = {r.source_id: r.label for r in read_inventory(local_dir / "inventory.tsv")}
    split_of = read_split_of(local_dir / "sources.tsv")
    summaries = []
    for name in (*SPLITS, ZERO_SHOT):
        expected_split = "test" if name == ZERO_SHOT else name
        sources_of = read_table(data_dir / name / "utt2sources")
        durations = read_table(data_dir / name / "utt2dur")
        used = set()
        for utt, sources in sources_of.items():
            for sid in sources.split():
                if split_of.get(sid) != expected_split:
                    raise ValueError(f"{data_dir / name}: {utt} uses {sid} from split "
                                     f"{split_of.get(sid)!r}")
                used.add(sid)
        summaries.append(DirSummary(
            name=name, clips=len(sources_of),
            hours=sum(float(d) for d in durations.values()) / 3600,
            classes=len({label_of[sid] for sid in used}), sources=len(used)))
    return summaries


def format_summary(summaries: List[DirSummary]) -> str:
    """A small fixed-width table."""
    lines = [f"{'dir':<14} {'clips':>6} {'hours':>7} {'classes':>8} {'sources':>8}"]
    lines += [f"{s.name:<14} {s.clips:>6} {s.hours:>7.3f} {s.classes:>8} {s.sources:>8}"
              for s in summaries]
    return "\n".join(lines)


def count_by_split(local_dir: Path) -> Dict[str, int]:
    """Number of source recordings assigned to each split."""
    counts: Dict[str, int] = {split: 0 for split in SPLITS}
    for split in read_split_of(local_dir / "sources.tsv").values():
        counts[split] += 1
    return counts
