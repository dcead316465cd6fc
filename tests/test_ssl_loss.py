"""SSL projection head, teacher centering and the masked distillation loss, checked by value."""

import math
import os

import pytest
import torch
import torch.distributed
import torch.multiprocessing

from espnet2_slap.ssl.centering import EMACentering, SinkhornKnoppCentering
from espnet2_slap.ssl.patch_loss import PatchDistillationLoss
from espnet2_slap.ssl.head import SSLProjectionHead

K = 4
STUDENT_TEMPERATURE = 0.1
TEACHER_TEMPERATURE = 0.07


def reference_sinkhorn(logits: torch.Tensor, temperature: float, iterations: int) -> torch.Tensor:
    """Sinkhorn-Knopp written on the (M, K) matrix with explicit loops, in float64."""
    q = torch.exp(logits.double() / temperature)
    num_tokens, num_prototypes = q.shape
    q = q / q.sum()
    for _ in range(iterations):
        for k in range(num_prototypes):
            q[:, k] = q[:, k] / q[:, k].sum() / num_prototypes
        for j in range(num_tokens):
            q[j, :] = q[j, :] / q[j, :].sum() / num_tokens
    return q * num_tokens


def reference_loss(student, targets, sample_ids, num_samples):
    """The loss from its definition: per-token CE, mean per sample, mean over non-empty samples."""
    per_sample = []
    for b in range(num_samples):
        tokens = (sample_ids == b).nonzero().flatten().tolist()
        if not tokens:
            continue
        losses = []
        for j in tokens:
            log_q_s = torch.log_softmax(student[j].double() / STUDENT_TEMPERATURE, dim=0)
            losses.append(-sum(targets[j, k] * log_q_s[k] for k in range(student.size(1))))
        per_sample.append(sum(losses) / len(losses))
    return sum(per_sample) / len(per_sample)


@pytest.fixture
def hand_case():
    """Two samples with 3 and 1 masked tokens (and an empty third sample), K = 4."""
    student = torch.tensor(
        [
            [0.2, -0.1, 0.5, 0.0],
            [0.9, 0.3, -0.4, 0.1],
            [-0.3, 0.6, 0.2, -0.8],
            [0.1, 0.1, 0.7, -0.2],
        ]
    )
    teacher = torch.tensor(
        [
            [0.5, -0.2, 0.1, 0.3],
            [-0.6, 0.4, 0.9, 0.0],
            [0.2, 0.2, -0.5, 0.8],
            [0.7, -0.9, 0.3, 0.1],
        ]
    )
    sample_ids = torch.tensor([0, 0, 0, 1])
    return student, teacher, sample_ids


# ---------------------------------------------------------------- projection head


def test_head_gives_cosine_scores_against_normalised_prototypes():
    torch.manual_seed(0)
    head = SSLProjectionHead(12, hidden_size=16, bottleneck_size=8, num_prototypes=5, num_layers=3)
    tokens = torch.randn(7, 12)
    logits = head(tokens)
    assert logits.shape == (7, 5)
    assert logits.abs().max() <= 1.0 + 1e-6
    with torch.no_grad():
        head.prototypes.mul_(3.0)  # the magnitude is normalised away
    torch.testing.assert_close(head(tokens), logits)
    with torch.no_grad():
        head.prototypes[2] = 5.0 * head.mlp(tokens[4])  # prototype along token 4's bottleneck
    assert head(tokens)[4, 2].item() == pytest.approx(1.0, abs=1e-6)


def test_head_layers_and_gradients():
    head = SSLProjectionHead(6, hidden_size=10, bottleneck_size=4, num_prototypes=3, num_layers=1)
    assert [type(m) for m in head.mlp] == [torch.nn.Linear]
    head = SSLProjectionHead(6, hidden_size=10, bottleneck_size=4, num_prototypes=3, num_layers=3)
    assert [type(m).__name__ for m in head.mlp] == ["Linear", "GELU", "Linear", "GELU", "Linear"]
    head(torch.randn(5, 6)).pow(2).sum().backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    with pytest.raises(ValueError, match="num_layers"):
        SSLProjectionHead(6, num_layers=0)


# ---------------------------------------------------------------- centering


def test_sinkhorn_matches_reference_and_balances_prototypes():
    torch.manual_seed(0)
    logits = torch.randn(40, 6)
    probabilities = SinkhornKnoppCentering(3).probabilities(logits, 0.5)
    torch.testing.assert_close(
        probabilities.double(), reference_sinkhorn(logits, 0.5, 3), atol=1e-6, rtol=1e-5
    )
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(40))  # rows: distributions
    uniform_mass = torch.full((6,), 40 / 6)
    softmax_imbalance = (torch.softmax(logits / 0.5, -1).sum(0) - uniform_mass).abs().max()
    sinkhorn_imbalance = (probabilities.sum(0) - uniform_mass).abs().max()
    assert sinkhorn_imbalance < 0.5 * softmax_imbalance
    converged = SinkhornKnoppCentering(200).probabilities(logits, 0.5)
    torch.testing.assert_close(converged.sum(0), uniform_mass, atol=1e-4, rtol=0)


def test_sinkhorn_is_shift_invariant_and_does_not_overflow():
    torch.manual_seed(1)
    logits = torch.randn(10, 5)
    centering = SinkhornKnoppCentering(3)
    torch.testing.assert_close(
        centering.probabilities(logits + 1000.0, 0.07), centering.probabilities(logits, 0.07)
    )


def test_ema_centering_subtracts_center_then_updates_it():
    torch.manual_seed(2)
    centering = EMACentering(3, momentum=0.9)
    first, second = torch.randn(5, 3), torch.randn(4, 3)
    torch.testing.assert_close(
        centering.probabilities(first, 0.1), torch.softmax(first / 0.1, -1)
    )  # center starts at zero
    centering.update(first)
    expected_center = 0.1 * first.mean(0)
    torch.testing.assert_close(centering.center, expected_center)
    torch.testing.assert_close(
        centering.probabilities(second, 0.1), torch.softmax((second - expected_center) / 0.1, -1)
    )
    centering.update(torch.empty(0, 3))  # no tokens: center unchanged
    torch.testing.assert_close(centering.center, expected_center)
    assert "center" in centering.state_dict()


def centering_on_rank(rank: int, init_file: str, splits, out_dir: str):
    """Worker: centre this rank's share of each split inside a two-process gloo group."""
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=2
    )
    try:
        results = []
        for shards in splits:
            ema = EMACentering(shards[rank].size(1), momentum=0.9)
            ema.update(shards[rank])
            sinkhorn = SinkhornKnoppCentering(3).probabilities(shards[rank], 0.5)
            results.append(dict(sinkhorn=sinkhorn, center=ema.center))
        torch.save(results, os.path.join(out_dir, f"{rank}.pt"))
    finally:
        torch.distributed.destroy_process_group()


def test_centering_statistics_span_all_ranks(tmp_path):
    """Tokens split unevenly over two ranks (or all on one) give the single-process result."""
    torch.manual_seed(4)
    logits = torch.randn(7, 5)
    splits = [(logits[:5], logits[5:]), (logits[:0], logits)]
    torch.multiprocessing.spawn(
        centering_on_rank, args=(str(tmp_path / "init"), splits, str(tmp_path)), nprocs=2
    )
    per_rank = [torch.load(tmp_path / f"{rank}.pt") for rank in range(2)]
    expected = SinkhornKnoppCentering(3).probabilities(logits, 0.5)
    for split in range(len(splits)):
        gathered = torch.cat([per_rank[rank][split]["sinkhorn"] for rank in range(2)])
        torch.testing.assert_close(gathered, expected)
        for rank in range(2):
            torch.testing.assert_close(per_rank[rank][split]["center"], 0.1 * logits.mean(0))


# ---------------------------------------------------------------- loss


def test_sinkhorn_loss_equals_definition(hand_case):
    student, teacher, sample_ids = hand_case
    loss_fn = PatchDistillationLoss(K, STUDENT_TEMPERATURE, TEACHER_TEMPERATURE, "sinkhorn")
    loss, stats = loss_fn(student, teacher, sample_ids, num_samples=3)
    targets = reference_sinkhorn(teacher, TEACHER_TEMPERATURE, 3)
    expected = reference_loss(student, targets, sample_ids, num_samples=3)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    expected_entropy = -(targets * targets.log()).sum(1).mean()
    assert stats["teacher_entropy"].item() == pytest.approx(expected_entropy.item(), rel=1e-5)


def test_ema_loss_equals_definition_and_updates_center_in_training_only(hand_case):
    student, teacher, sample_ids = hand_case
    loss_fn = PatchDistillationLoss(
        K, STUDENT_TEMPERATURE, TEACHER_TEMPERATURE, "ema", center_momentum=0.9
    )
    loss, _ = loss_fn(student, teacher, sample_ids, num_samples=3)
    targets = torch.softmax(teacher.double() / TEACHER_TEMPERATURE, -1)  # center is 0
    expected = reference_loss(student, targets, sample_ids, num_samples=3)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)

    center = loss_fn.centering.center
    torch.testing.assert_close(center, 0.1 * teacher.mean(0))
    loss, _ = loss_fn(student, teacher, sample_ids, num_samples=3)  # second batch uses it
    shift = 0.1 * teacher.double().mean(0)
    targets = torch.softmax((teacher.double() - shift) / TEACHER_TEMPERATURE, -1)
    expected = reference_loss(student, targets, sample_ids, num_samples=3)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)

    loss_fn.eval()
    center_before = center.clone()
    loss_fn(student, teacher, sample_ids, num_samples=3)
    torch.testing.assert_close(loss_fn.centering.center, center_before)


def test_sample_average_differs_from_token_average(hand_case):
    student, teacher, sample_ids = hand_case
    loss_fn = PatchDistillationLoss(K, centering="sinkhorn")
    loss, _ = loss_fn(student, teacher, sample_ids, num_samples=2)
    targets = SinkhornKnoppCentering(3).probabilities(teacher, TEACHER_TEMPERATURE)
    token_losses = -(targets * torch.log_softmax(student / STUDENT_TEMPERATURE, -1)).sum(-1)
    by_sample = (token_losses[:3].mean() + token_losses[3]) / 2
    torch.testing.assert_close(loss, by_sample)
    assert not torch.allclose(loss, token_losses.mean())


def test_gradient_reaches_student_only(hand_case):
    student, teacher, sample_ids = hand_case
    student = student.clone().requires_grad_(True)
    teacher = teacher.clone().requires_grad_(True)
    loss, _ = PatchDistillationLoss(K)(student, teacher, sample_ids, num_samples=2)
    loss.backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


def test_no_masked_token_gives_zero_loss_with_gradient_path():
    student = torch.empty(0, K, requires_grad=True)
    no_ids = torch.empty(0, dtype=torch.long)
    loss, stats = PatchDistillationLoss(K)(student, torch.empty(0, K), no_ids, num_samples=3)
    loss.backward()
    assert loss.item() == 0.0 and stats["teacher_entropy"].item() == 0.0
    assert student.grad is not None


def test_uniform_teacher_has_entropy_log_k():
    loss_fn = PatchDistillationLoss(K, centering="ema")
    _, stats = loss_fn(torch.zeros(3, K), torch.zeros(3, K), torch.tensor([0, 1, 1]), 2)
    assert stats["teacher_entropy"].item() == pytest.approx(math.log(K), rel=1e-6)


@pytest.mark.parametrize(
    "student_shape, teacher_shape, sample_ids, match",
    [
        ((4, 5), (4, 5), [0, 0, 1, 1], "student_logits"),
        ((4, K), (3, K), [0, 0, 1, 1], "teacher_logits"),
        ((4, K), (4, K), [0, 0, 1], "sample_ids"),
        ((4, K), (4, K), [0, 0, 1, 2], "sample_ids"),
        ((4, K), (4, K), [0, -1, 1, 1], "sample_ids"),
    ],
)
def test_rejects_inconsistent_inputs(student_shape, teacher_shape, sample_ids, match):
    with pytest.raises(ValueError, match=match):
        PatchDistillationLoss(K)(
            torch.zeros(student_shape), torch.zeros(teacher_shape), torch.tensor(sample_ids), 2
        )


def test_rejects_unknown_centering():
    with pytest.raises(ValueError, match="centering"):
        PatchDistillationLoss(K, centering="softmax")


def test_teacher_temperature_warm_up_is_an_option():
    """DINOv2 warms tau_t up linearly from 0.04 to 0.07; the default stays constant 0.07."""
    constant = PatchDistillationLoss(8)
    assert [constant.teacher_temperature_at(s) for s in (0, 50, 10**6)] == [0.07] * 3
    warm = PatchDistillationLoss(8, teacher_temperature_start=0.04,
                                 teacher_temperature_warmup_steps=100)
    assert warm.teacher_temperature_at(0) == pytest.approx(0.04)
    assert warm.teacher_temperature_at(50) == pytest.approx(0.055)
    assert warm.teacher_temperature_at(100) == warm.teacher_temperature_at(10**6) == 0.07
    torch.manual_seed(0)
    student, teacher = torch.randn(6, 8), torch.randn(6, 8)
    ids = torch.tensor([0, 0, 1, 1, 1, 0])
    _, at_start = warm(student, teacher, ids, 2, step=0)
    _, at_end = warm(student, teacher, ids, 2, step=100)
    _, const = constant(student, teacher, ids, 2, step=0)
    assert float(at_start["teacher_temperature"]) == pytest.approx(0.04)
    assert float(at_start["teacher_entropy"]) < float(at_end["teacher_entropy"])  # sharper
    torch.testing.assert_close(at_end["teacher_entropy"], const["teacher_entropy"])
    assert "teacher_temperature" not in const
    with pytest.raises(ValueError, match="teacher_temperature_warmup_steps >= 1"):
        PatchDistillationLoss(8, teacher_temperature_start=0.04)
