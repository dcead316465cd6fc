"""Data parallel: one whole training step on 2 gloo ranks equals one process on the global batch.

The step is ESPnet's (``SLAPTrainer.train_one_epoch`` on a one-batch iterator, model wrapped in
``DistributedDataParallel``): the clip-weighted loss average over ranks, DDP's gradient
average, the optimizer step (SGD, lr 1, so the update is the gradient) and the EMA teacher
update. All three losses are on: the contrastive loss gathers every rank's embeddings as
negatives and the Sinkhorn-Knopp centring sums its statistics over ranks.

The ranks hold 2 and 3 clips (packed batches differ in size). L_CAP is a mean over each
rank's caption tokens weighted by its clips, as ESPnet weights every loss; it equals the
global token mean when the ranks' mean caption lengths agree, so every caption here has the
same length.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

CAPTIONS = ["a dog barks", "a cat mewls", "a man talks", "a bell ring", "a car honks"]
SAMPLES = [16000, 7000, 30000, 12000, 21000]
RANK_CLIPS = [[0, 1], [2, 3, 4]]


def alternate_mask(lengths: torch.Tensor, ratio: float) -> torch.Tensor:
    """Every other token of each clip: the same mask whatever the clip is batched with."""
    return torch.cat([torch.arange(int(n)) % 2 == 0 for n in lengths])


def setup(config: str, token_list: str, clips):
    import espnet2_slap.ssl.objective as ssl_objective
    from espnet2_slap.tasks.slap import SLAPTask

    ssl_objective.random_token_mask = alternate_mask
    args = SLAPTask.get_parser().parse_args(
        ["--config", config, "--token_list", token_list, "--output_dir", "unused",
         "--specaug", "none", "--optim", "sgd", "--optim_conf", "lr=1.0",
         "--grad_clip", "1e9", "--ema_total_steps", "10"]
    )
    # no dropout: its masks would differ between the ranks and the single process
    args.text_encoder_conf["config_overrides"].update(
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )
    args.caption_decoder_conf["dropout"] = 0.0
    torch.manual_seed(0)
    model = SLAPTask.build_model(args)
    (optimizer,) = SLAPTask.build_optimizers(args, model)
    preprocess = SLAPTask.build_preprocess_fn(args, train=False)
    rng = np.random.default_rng(0)
    waves = [(0.3 * rng.standard_normal(n)).astype(np.float32) for n in SAMPLES]
    items = [(f"u{i}", preprocess(f"u{i}", {"speech": waves[i], "text": CAPTIONS[i]}))
             for i in clips]
    utt_ids, batch = SLAPTask.build_collate_fn(args, train=True)(items)
    return args, model, optimizer, utt_ids, batch


def training_step(args, model, optimizer, utt_ids, batch, distributed: bool):
    from espnet2.train.distributed_utils import DistributedOption
    from espnet2.train.reporter import Reporter

    from espnet2_slap.train.trainer import SLAPTrainer

    options = SLAPTrainer.build_options(args)
    reporter = Reporter()
    reporter.set_epoch(1)
    with reporter.observe("train") as sub_reporter:
        SLAPTrainer.train_one_epoch(
            model=model, iterator=[(utt_ids, dict(batch))], optimizers=[optimizer],
            schedulers=[None], scaler=None, reporter=sub_reporter, summary_writer=None,
            options=options,
            distributed_option=DistributedOption(distributed=distributed, ngpu=0),
        )


def state_after_step(model) -> dict:
    model = getattr(model, "module", model)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def rank_worker(rank: int, world_size: int, workdir: str, config: str, token_list: str):
    torch.set_num_threads(1)
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{workdir}/rendezvous", rank=rank, world_size=world_size
    )
    try:
        args, model, optimizer, utt_ids, batch = setup(config, token_list, RANK_CLIPS[rank])
        ddp = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
        training_step(args, ddp, optimizer, utt_ids, batch, distributed=True)
        if rank == 0:
            torch.save(state_after_step(ddp), f"{workdir}/ddp_state.pt")
    finally:
        torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_ranks_step_like_one_process(tiny_config, char_token_list, tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))  # spawned ranks import this module
    torch.multiprocessing.spawn(
        rank_worker, args=(2, str(tmp_path), str(tiny_config), str(char_token_list)), nprocs=2
    )
    distributed = torch.load(tmp_path / "ddp_state.pt")

    args, model, optimizer, utt_ids, batch = setup(
        str(tiny_config), str(char_token_list), RANK_CLIPS[0] + RANK_CLIPS[1]
    )
    before = state_after_step(model)
    training_step(args, model, optimizer, utt_ids, batch, distributed=False)
    single = state_after_step(model)

    moved = [k for k in single if single[k].is_floating_point()
             and not torch.equal(single[k], before[k])]
    assert any(k.startswith("audio_encoder.") for k in moved)
    assert any(".teacher." in k for k in moved)  # the EMA update ran
    assert any(k.startswith("caption_decoder.") for k in moved)
    # updates reach ~7 (lr 1); float32 sums in another order differ by ~1e-6 of that
    for name, value in single.items():
        torch.testing.assert_close(distributed[name], value, rtol=1e-5, atol=3e-5,
                                   msg=lambda message, name=name: f"{name}: {message}")
