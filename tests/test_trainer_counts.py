"""The epoch stats count the batches the trainer really ran, skipped files or not (issue 24,
item 5): ``skipped_files`` was registered in an extra reporter step, one above the count."""

import pytest
import torch
from espnet2.train.distributed_utils import DistributedOption
from espnet2.train.reporter import Reporter

from espnet2_slap.tasks.slap import SLAPTask


class TinyModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))

    def forward(self, x, utt_id=None):
        loss = (self.weight * x).mean()
        return loss, {"loss": loss.detach()}, torch.tensor(x.size(0))


def batches(skipped):
    """One ``(utt_ids, batch)`` per entry of ``skipped`` (the clips that failed in it); a
    batch whose every clip failed has no clip left (the loader sends no utterance)."""
    for i, count in enumerate(skipped):
        utt_ids = [] if count < 0 else [f"u{i}"]
        batch = {"skipped_files": torch.tensor(abs(count))}
        if utt_ids:
            batch["x"] = torch.ones(1, 2)
        yield utt_ids, batch


@pytest.mark.parametrize("skipped, ran, total", [
    ([0, 0, 0], 3, 0),
    ([0, 2, 0, 1], 4, 3),
    ([1, 0, -2], 2, 3),  # the last batch lost every clip
])
@pytest.mark.parametrize("mode", ["train", "valid"])
def test_epoch_stats_count_the_batches_that_ran(skipped, ran, total, mode, tmp_path):
    args = SLAPTask.get_parser().parse_args(["--output_dir", str(tmp_path)])
    options = SLAPTask.trainer.build_options(args)
    model = TinyModel()
    reporter = Reporter()
    reporter.set_epoch(1)
    with reporter.observe(mode) as sub:
        if mode == "train":
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            SLAPTask.trainer.train_one_epoch(model, batches(skipped), [optimizer], [None], None,
                                             sub, None, options, DistributedOption())
        else:
            SLAPTask.trainer.validate_one_epoch(model, batches(skipped), sub, options,
                                                DistributedOption())
    assert reporter.get_value(mode, "total_count") == ran
    assert reporter.get_value(mode, "skipped_files") == total
    if mode == "valid":  # every batch's own stats are still there
        assert reporter.get_value(mode, "loss") == pytest.approx(1.0)
