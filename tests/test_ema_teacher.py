"""EMA teacher: momentum schedule, update rule, once-per-real-step hook, resume, training."""

import io
import math

import pytest
import torch

from espnet2_slap.ssl.patch_loss import PatchDistillationLoss
from espnet2_slap.ssl.head import SSLProjectionHead
from espnet2_slap.ssl.ema_teacher import (
    EMATeacher,
    after_each_real_step,
    attach_ema_teachers,
    cosine_momentum,
    restart_ema_teachers,
)
from espnet2_slap.ssl.token_masking import random_token_mask

INPUT_SIZE, HIDDEN, PROTOTYPES = 6, 16, 8
LENGTHS = torch.tensor([5, 3, 6, 2])


class TinyStudent(torch.nn.Module):
    """Packed-token encoder: per-token MLP + position embedding + mean of its sample, then head."""

    def __init__(self):
        super().__init__()
        self.mask_token = torch.nn.Parameter(0.1 * torch.randn(INPUT_SIZE))
        self.embed = torch.nn.Linear(INPUT_SIZE, HIDDEN)
        self.position = torch.nn.Embedding(8, HIDDEN)
        self.mix = torch.nn.Linear(2 * HIDDEN, HIDDEN)
        # One head layer: at width 16 the std-0.02 init of a deeper MLP leaves its output
        # smaller than the bias drift of the first steps, and the teacher's targets go uniform.
        self.head = SSLProjectionHead(
            HIDDEN, bottleneck_size=8, num_prototypes=PROTOTYPES, num_layers=1
        )

    def forward(self, tokens, lengths, token_mask=None):
        """``(N, INPUT_SIZE)`` packed tokens -> ``(N, PROTOTYPES)`` scores."""
        if token_mask is not None:
            tokens = torch.where(token_mask[:, None], self.mask_token, tokens)
        sample = torch.repeat_interleave(torch.arange(lengths.numel()), lengths)
        position = torch.arange(tokens.size(0)) - (torch.cumsum(lengths, 0) - lengths)[sample]
        hidden = self.embed(tokens) + self.position(position)
        sums = torch.zeros(lengths.numel(), HIDDEN).index_add(0, sample, hidden)
        context = sums / lengths[:, None]
        hidden = torch.nn.functional.gelu(self.mix(torch.cat([hidden, context[sample]], -1)))
        return self.head(hidden)


class SelfDistillation(torch.nn.Module):
    """Student, EMA teacher and loss in one module, as the model holds them."""

    def __init__(self, total_steps: int, centering: str):
        super().__init__()
        self.student = TinyStudent()
        self.teacher = EMATeacher(self.student, total_steps=total_steps)
        self.loss = PatchDistillationLoss(PROTOTYPES, centering=centering)

    def forward(self, tokens, lengths, step):
        """Loss and stats on a mask drawn from ``step`` (so two runs draw the same masks)."""
        token_mask = random_token_mask(lengths, 0.5, torch.Generator().manual_seed(step))
        sample_ids = torch.repeat_interleave(torch.arange(lengths.numel()), lengths)
        student_logits = self.student(tokens, lengths, token_mask)[token_mask]
        teacher_logits = self.teacher(tokens, lengths)[token_mask]
        return self.loss(student_logits, teacher_logits, sample_ids[token_mask], lengths.numel())


@pytest.fixture(autouse=True)
def single_thread():
    """These tensors are tiny: extra intra-op threads only add overhead on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def trainable_parameters(module):
    return [p for p in module.parameters() if p.requires_grad]


def make_training(seed: int, total_steps: int, centering: str = "ema"):
    torch.manual_seed(seed)
    model = SelfDistillation(total_steps, centering)
    optimizer = torch.optim.AdamW(trainable_parameters(model), lr=1e-2)
    after_each_real_step(optimizer, lambda: model.teacher.update(model.student))
    return model, optimizer


def train(model, optimizer, tokens, steps):
    """Plain training loop; returns the loss and the teacher entropy of every step."""
    losses, entropies = [], []
    for step in steps:
        loss, stats = model(tokens, LENGTHS, step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        entropies.append(stats["teacher_entropy"].item())
    return losses, entropies


def fixed_tokens():
    return torch.randn(int(LENGTHS.sum()), INPUT_SIZE, generator=torch.Generator().manual_seed(5))


def snapshot(module):
    return {name: tensor.detach().clone() for name, tensor in module.state_dict().items()}


# ---------------------------------------------------------------- schedule


def test_cosine_momentum_schedule():
    assert cosine_momentum(0, 100) == pytest.approx(0.994, abs=1e-12)
    assert cosine_momentum(50, 100) == pytest.approx((0.994 + 1.0) / 2, abs=1e-12)
    assert cosine_momentum(100, 100) == 1.0
    assert cosine_momentum(250, 100) == 1.0
    quarter = 0.9 - 0.4 * (math.cos(math.pi / 4) + 1) / 2
    assert cosine_momentum(10, 40, start=0.5, end=0.9) == pytest.approx(quarter, abs=1e-12)
    values = [cosine_momentum(step, 100) for step in range(101)]
    assert all(a < b for a, b in zip(values, values[1:]))
    with pytest.raises(ValueError, match="total_steps"):
        cosine_momentum(0, 0)


# ---------------------------------------------------------------- update rule


def test_teacher_starts_as_detached_frozen_copy():
    student = TinyStudent()
    teacher = EMATeacher(student, total_steps=10)
    for (name, t), s in zip(teacher.module.named_parameters(), student.parameters()):
        assert torch.equal(t, s) and t is not s, name
        assert not t.requires_grad
    with torch.no_grad():
        student.embed.weight.add_(1.0)
    assert not torch.equal(teacher.module.embed.weight, student.embed.weight)
    assert teacher.step.item() == 0 and teacher.momentum() == pytest.approx(0.994)


def test_one_update_by_hand():
    student = TinyStudent()
    teacher = EMATeacher(student, total_steps=10)
    student.register_buffer("calls", torch.tensor([3.0]))
    teacher.module.register_buffer("calls", torch.tensor([0.0]))
    before = {name: p.detach().double().clone() for name, p in teacher.module.named_parameters()}
    with torch.no_grad():
        for p in student.parameters():
            p.add_(torch.randn_like(p))
    teacher.update(student)
    m = 0.994
    after = dict(teacher.module.named_parameters())
    for name, s in student.named_parameters():
        expected = m * before[name] + (1 - m) * s.detach().double()  # float64, by hand
        torch.testing.assert_close(after[name].double(), expected, atol=1e-7, rtol=1e-7)
    assert teacher.module.calls.item() == 3.0  # buffers are copied
    assert teacher.step.item() == 1
    assert teacher.momentum() == pytest.approx(cosine_momentum(1, 10))


def test_total_steps_must_be_set_before_update():
    teacher = EMATeacher(torch.nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="set_total_steps"):
        teacher.update(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="total_steps"):
        teacher.set_total_steps(0)
    teacher.set_total_steps(4)
    assert teacher.total_steps.item() == 4 and teacher.momentum() == pytest.approx(0.994)


def test_update_rejects_a_different_module():
    teacher = EMATeacher(torch.nn.Linear(2, 2), total_steps=4)
    with pytest.raises(ValueError, match="parameters"):
        teacher.update(torch.nn.Sequential(torch.nn.Linear(2, 2)))


def test_reset_from_copies_exactly_and_keeps_step():
    student = TinyStudent()
    teacher = EMATeacher(student, total_steps=10)
    teacher.update(student)
    torch.manual_seed(3)
    fresh = TinyStudent()
    teacher.reset_from(fresh)
    for t, s in zip(teacher.module.parameters(), fresh.parameters()):
        assert torch.equal(t, s)
    assert teacher.step.item() == 1


def test_teacher_stays_in_eval_mode():
    student = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5))
    holder = torch.nn.ModuleDict(dict(student=student, teacher=EMATeacher(student)))
    holder.train()
    assert student.training
    assert not any(m.training for m in holder["teacher"].modules())
    x = torch.randn(16, 4)
    assert torch.equal(holder["teacher"](x), holder["teacher"](x))  # no dropout


# ---------------------------------------------------------------- gradients and optimizer


def test_teacher_gets_no_gradient_and_is_not_optimized():
    model, optimizer = make_training(seed=0, total_steps=10)
    loss, _ = model(fixed_tokens(), LENGTHS, step=0)
    loss.backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert any(p.grad is not None for p in model.student.parameters())
    optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert not optimized & {id(p) for p in model.teacher.parameters()}
    assert {id(p) for p in model.student.parameters()} <= optimized
    assert not model.teacher(fixed_tokens(), LENGTHS).requires_grad


def test_gradient_accumulation_updates_teacher_once():
    model, optimizer = make_training(seed=0, total_steps=10)
    start = snapshot(model.teacher.module)
    for micro_batch in range(2):
        (model(fixed_tokens(), LENGTHS, step=micro_batch)[0] / 2).backward()
    assert model.teacher.step.item() == 0
    optimizer.step()
    assert model.teacher.step.item() == 1
    for name, s in model.student.named_parameters():
        expected = 0.994 * start[name].double() + 0.006 * s.detach().double()
        teacher = dict(model.teacher.module.named_parameters())[name]
        torch.testing.assert_close(teacher.double(), expected, atol=1e-7, rtol=1e-7)


@pytest.mark.parametrize("fused", [False, True])
def test_step_skipped_by_grad_scaler_does_not_update(fused):
    """ESPnet's AMP path: scale, backward, unscale_, clip, scaler.step, scaler.update."""
    torch.manual_seed(0)
    model = SelfDistillation(total_steps=10, centering="sinkhorn")
    optimizer = torch.optim.Adam(trainable_parameters(model), lr=1e-2, fused=fused)
    after_each_real_step(optimizer, lambda: model.teacher.update(model.student))
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)

    def amp_step(poison: bool):
        optimizer.zero_grad()
        scaler.scale(model(fixed_tokens(), LENGTHS, step=0)[0]).backward()
        if poison:
            model.student.embed.weight.grad[0, 0] = float("inf")
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        scaler.step(optimizer)
        scaler.update()

    teacher_before, student_before = snapshot(model.teacher), snapshot(model.student)
    amp_step(poison=True)
    assert scaler.get_scale() == 2.0**7  # the scaler saw the inf and skipped the step
    for name, value in snapshot(model.student).items():
        assert torch.equal(value, student_before[name]), name
    for name, value in snapshot(model.teacher).items():
        assert torch.equal(value, teacher_before[name]), name

    amp_step(poison=False)
    assert model.teacher.step.item() == 1
    assert not torch.equal(model.teacher.module.embed.weight, teacher_before["module.embed.weight"])


# ---------------------------------------------------------------- training


def test_resumed_run_matches_uninterrupted_run():
    tokens, k = fixed_tokens(), 4
    straight, straight_optimizer = make_training(seed=0, total_steps=2 * k)
    train(straight, straight_optimizer, tokens, range(2 * k))

    first_half, first_optimizer = make_training(seed=0, total_steps=2 * k)
    train(first_half, first_optimizer, tokens, range(k))
    checkpoint = io.BytesIO()
    torch.save(
        dict(model=first_half.state_dict(), optimizer=first_optimizer.state_dict()), checkpoint
    )
    checkpoint.seek(0)
    state = torch.load(checkpoint)

    # the schedule length is not checkpointed: the resumed trainer sets it from its own run
    assert not any(name.endswith("total_steps") for name in state["model"])
    resumed, resumed_optimizer = make_training(seed=1, total_steps=2 * k)  # different init
    resumed.load_state_dict(state["model"])
    resumed_optimizer.load_state_dict(state["optimizer"])
    assert resumed.teacher.step.item() == k and resumed.teacher.total_steps.item() == 2 * k
    train(resumed, resumed_optimizer, tokens, range(k, 2 * k))

    assert resumed.teacher.step.item() == 2 * k
    torch.testing.assert_close(resumed.loss.centering.center, straight.loss.centering.center)
    for name, value in snapshot(resumed.teacher).items():
        torch.testing.assert_close(value, snapshot(straight.teacher)[name], atol=1e-7, rtol=0)


@pytest.mark.parametrize("centering", ["sinkhorn", "ema"])
def test_loss_decreases_when_overfitting_a_fixed_batch(centering):
    model, optimizer = make_training(seed=0, total_steps=50, centering=centering)
    losses, entropies = train(model, optimizer, fixed_tokens(), [0] * 50)  # same mask every step
    assert model.teacher.step.item() == 50 and model.teacher.momentum() == 1.0
    assert losses[-1] < 0.5 * losses[0]
    assert entropies[-1] < 0.5 * math.log(PROTOTYPES)  # targets did not collapse to uniform


def test_attach_ema_teachers_sets_the_schedule_and_steps_once_per_optimizer_step():
    """The task's one call wires every teacher: schedule length, then one EMA step per real
    optimizer step (not per backward with gradient accumulation, not on a skipped step)."""
    torch.manual_seed(0)
    model = torch.nn.ModuleDict(dict(ssl=SelfDistillation(total_steps=0, centering="sinkhorn")))
    optimizer = torch.optim.SGD(trainable_parameters(model), lr=0.1)
    schedule_calls = []
    (handle,) = attach_ema_teachers(model, optimizer, lambda: schedule_calls.append(1) or 7)
    teacher = model["ssl"].teacher
    assert schedule_calls == [1] and int(teacher.total_steps) == 7
    assert teacher.student is model["ssl"].student  # it follows the module it was built from
    start = snapshot(teacher.module)
    for step in range(3):  # accum_grad = 2: two backward passes per optimizer step
        optimizer.zero_grad()
        for micro in range(2):
            model["ssl"](fixed_tokens(), LENGTHS, step=2 * step + micro)[0].backward()
        optimizer.step()
    assert int(teacher.step) == 3
    assert not torch.equal(teacher.module.embed.weight, start["embed.weight"])
    handle.remove()
    optimizer.step()
    assert int(teacher.step) == 3

    no_teacher = torch.nn.Linear(2, 2)
    assert attach_ema_teachers(no_teacher, optimizer, lambda: schedule_calls.append(1) or 7) == []
    assert schedule_calls == [1]  # the schedule length is not even computed


def test_restart_copies_the_student_at_the_next_training_pass_only():
    """Fine-tuning: the trainer restarts the schedule; the teacher then starts from the
    (loaded) student until its first update, and a resumed teacher is left alone."""
    model, optimizer = make_training(seed=0, total_steps=10)
    train(model, optimizer, fixed_tokens(), range(2))
    assert int(model.teacher.step) == 2
    with torch.no_grad():  # what --init_param does to the student after the model was built
        model.student.embed.weight.add_(1.0)
    model.teacher.start_from_student()  # step > 0: a resumed teacher keeps its weights
    assert not torch.equal(model.teacher.module.embed.weight, model.student.embed.weight)
    restart_ema_teachers(model)
    assert int(model.teacher.step) == 0
    model.teacher.start_from_student()
    for t, s in zip(model.teacher.module.parameters(), model.student.parameters()):
        assert torch.equal(t, s)
