"""InfoNCE and sigmoid losses against their definitions; the temperature clamp."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from espnet2_slap.losses.infonce import InfoNCELoss
from espnet2_slap.losses.sigmoid import SigmoidLoss


def embeddings(batch=5, dim=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (F.normalize(torch.randn(batch, dim, generator=g, dtype=torch.float64), dim=-1),
            F.normalize(torch.randn(batch, dim, generator=g, dtype=torch.float64), dim=-1))


def test_infonce_matches_the_paper_formula():
    audio, text = embeddings()
    loss_fn = InfoNCELoss(init_temperature=0.1).double()
    loss, stats = loss_fn(audio, text)
    sim = audio @ text.T / 0.1
    expected = 0.0
    for i in range(5):  # eq. (3): mean over i of both directions' log-softmax at the diagonal
        expected -= math.log(math.exp(sim[i, i]) / sum(math.exp(sim[i, j]) for j in range(5)))
        expected -= math.log(math.exp(sim[i, i]) / sum(math.exp(sim[j, i]) for j in range(5)))
    expected /= 2 * 5
    assert loss.item() == pytest.approx(expected, rel=1e-6)  # the temperature is stored in fp32
    assert stats["temperature"].item() == pytest.approx(0.1)


def test_in_batch_accuracy_and_perfect_alignment():
    audio, _ = embeddings()
    loss, stats = InfoNCELoss().double()(audio, audio.clone())
    assert stats["acc_a2t"] == 1 and stats["acc_t2a"] == 1
    shuffled = audio[[1, 0, 2, 3, 4]]
    _, stats = InfoNCELoss().double()(audio, shuffled)
    assert stats["acc_a2t"].item() == pytest.approx(3 / 5)


def test_temperature_is_learned_and_clamped():
    audio, text = embeddings()
    loss_fn = InfoNCELoss(init_temperature=0.07, min_temperature=0.05).double()
    loss, _ = loss_fn(audio, text)
    loss.backward()
    assert loss_fn.logit_scale.log_inv_temperature.grad is not None
    with torch.no_grad():
        loss_fn.logit_scale.log_inv_temperature.fill_(math.log(1 / 0.001))  # beyond the clamp
    _, stats = loss_fn(audio, text)
    assert stats["temperature"].item() == pytest.approx(0.05)
    loss_fn.logit_scale.log_inv_temperature.grad = None
    loss_fn(audio, text)[0].backward()
    assert loss_fn.logit_scale.log_inv_temperature.grad.item() == 0  # clamped: no push further
    fixed = InfoNCELoss(learnable_temperature=False)
    assert not fixed.logit_scale.log_inv_temperature.requires_grad
    with pytest.raises(ValueError, match="min_temperature"):
        InfoNCELoss(init_temperature=0.01, min_temperature=0.05)


def test_sigmoid_loss_matches_its_definition():
    audio, text = embeddings(batch=4)
    loss_fn = SigmoidLoss(init_temperature=0.1, init_bias=-10.0).double()
    loss, stats = loss_fn(audio, text)
    logits = audio @ text.T * 10 - 10
    expected = 0.0
    for i in range(4):
        for j in range(4):
            label = 1.0 if i == j else -1.0
            expected -= math.log(1 / (1 + math.exp(-label * logits[i, j])))
    assert loss.item() == pytest.approx(expected / 4, rel=1e-6)
    assert stats["bias"].item() == -10.0


def _rank_worker(rank, world, init_file, results, loss_name):
    """One data-parallel rank: its slice of the batch, weighted as ESPnet's Trainer weights it."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    audio, text = embeddings(batch=5)
    rows = [slice(0, 3), slice(3, 5)][rank]
    audio, text = audio[rows].clone().requires_grad_(True), text[rows].clone().requires_grad_(True)
    loss_fn = (InfoNCELoss() if loss_name == "infonce" else SigmoidLoss()).double()
    loss, stats = loss_fn(audio, text)
    (loss * audio.size(0) / 5).backward()
    results[rank] = (float(loss), audio.grad.numpy(), text.grad.numpy(), float(stats["acc_a2t"]))
    dist.destroy_process_group()


@pytest.mark.parametrize("loss_name", ["infonce", "sigmoid"])
def test_data_parallel_gather_matches_the_full_batch(loss_name, tmp_path):
    """Two ranks holding 3 + 2 rows give the full batch's loss and gradients."""
    import torch.multiprocessing as mp

    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(_rank_worker, args=(2, tmp_path / "store", results, loss_name), nprocs=2)

    audio, text = embeddings(batch=5)
    audio.requires_grad_(True)
    text.requires_grad_(True)
    loss_fn = (InfoNCELoss() if loss_name == "infonce" else SigmoidLoss()).double()
    loss, _ = loss_fn(audio, text)
    loss.backward()
    weighted = (results[0][0] * 3 + results[1][0] * 2) / 5
    assert weighted == pytest.approx(loss.item(), rel=1e-9)
    grad_audio = np.concatenate([results[0][1], results[1][1]])
    grad_text = np.concatenate([results[0][2], results[1][2]])
    np.testing.assert_allclose(grad_audio, audio.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(grad_text, text.grad.numpy(), atol=1e-12)
