"""The Transformer caption decoder: masking, causality, learning, and caption search."""

import itertools

import pytest
import torch

from espnet2_slap.decoder.beam_search import beam_search, greedy_search
from espnet2_slap.decoder.transformer_caption_decoder import TransformerCaptionDecoder

VOCAB = 12
SOS_EOS = VOCAB - 1
MEMORY_SIZE = 16


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors gain nothing from intra-op threads and lose much on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_decoder(**kwargs) -> TransformerCaptionDecoder:
    conf = dict(
        vocab_size=VOCAB,
        memory_size=MEMORY_SIZE,
        hidden_size=32,
        num_layers=2,
        num_heads=4,
        mlp_hidden_size=64,
        dropout=0.0,
        max_length=16,
    )
    conf.update(kwargs)
    return TransformerCaptionDecoder(**conf).eval()


def random_memory(lengths, memory_size=MEMORY_SIZE, dtype=torch.float32):
    """Padded ``(B, max(lengths), memory_size)`` features with garbage in the padding."""
    lengths = torch.tensor(lengths)
    memory = torch.randn(len(lengths), int(lengths.max()), memory_size, dtype=dtype)
    valid = torch.arange(memory.size(1))[None, :] < lengths[:, None]
    return memory.masked_fill(~valid[..., None], 1e4), valid


def pad_captions(captions):
    """ESPnet-style batch: ``(B, L)`` ids padded with -1, and the ``(B,)`` lengths."""
    tokens = torch.full((len(captions), max(len(c) for c in captions)), -1, dtype=torch.long)
    for i, caption in enumerate(captions):
        tokens[i, : len(caption)] = torch.tensor(caption, dtype=torch.long)
    return tokens, torch.tensor([len(c) for c in captions])


def mean_log_prob(decoder, memory, valid, caption, max_length, sos_eos=SOS_EOS):
    """The beam-search ranking score of ``caption`` for one clip, by teacher forcing.

    A caption shorter than ``max_length`` ended with ``<sos/eos>``, which is scored too; one
    of ``max_length`` tokens was cut off there.
    """
    ended = len(caption) < max_length
    targets = caption + [sos_eos] if ended else caption
    inputs = torch.tensor([[sos_eos] + targets[:-1]])
    with torch.no_grad():
        log_probs = decoder.logits(memory, valid, inputs)[0].log_softmax(dim=-1)
    return float(log_probs[torch.arange(len(targets)), torch.tensor(targets)].mean())


CAPTIONS = [[3, 5, 2], [7], [4, 4, 8, 9, 1, 6], []]


def test_padded_caption_tokens_do_not_count():
    decoder = tiny_decoder().double()
    memory, valid = random_memory([5, 3, 7, 2], dtype=torch.float64)
    tokens, lengths = pad_captions(CAPTIONS)
    with torch.no_grad():
        loss, stats = decoder(memory, valid, tokens, lengths)
        alone = [
            decoder(memory[i : i + 1], valid[i : i + 1], tokens[i : i + 1], lengths[i : i + 1])[0]
            for i in range(len(CAPTIONS))
        ]
        weights = (lengths + 1).double()  # the caption's tokens and its <sos/eos>
        expected = (torch.stack(alone) * weights).sum() / weights.sum()
        assert abs(float(loss) - float(expected)) <= 1e-10
        assert float(stats["loss_cap"]) == float(loss)
        assert 0.0 <= float(stats["acc_cap"]) <= 1.0

        # Other padding values (any id, <sos/eos> included) and a wider padded batch.
        other_padding = torch.randint(0, VOCAB, (len(CAPTIONS), 9))
        for i, caption in enumerate(CAPTIONS):
            other_padding[i, : len(caption)] = torch.tensor(caption, dtype=torch.long)
        loss_other, _ = decoder(memory, valid, other_padding, lengths)
        assert abs(float(loss_other) - float(loss)) <= 1e-10

        # Not vacuous: a real token does count.
        changed = tokens.clone()
        changed[2, 1] = 10
        assert abs(float(decoder(memory, valid, changed, lengths)[0]) - float(loss)) > 1e-4


def test_padded_memory_frames_do_not_matter():
    decoder = tiny_decoder()
    memory, valid = random_memory([6, 4])
    tokens, lengths = pad_captions([[3, 5, 2], [7, 1]])
    garbage = torch.randn(2, 5, MEMORY_SIZE) * 100.0
    garbage[0, 0, 0] = float("nan")
    garbage[1, 2, 3] = float("inf")
    longer = torch.cat([memory, garbage], dim=1)
    longer_valid = torch.cat([valid, torch.zeros(2, 5, dtype=torch.bool)], dim=1)
    with torch.no_grad():
        loss, _ = decoder(memory, valid, tokens, lengths)
        loss_longer, _ = decoder(longer, longer_valid, tokens, lengths)
        assert abs(float(loss_longer) - float(loss)) <= 1e-6
        assert decoder.generate(longer, longer_valid, 8, 3) == decoder.generate(memory, valid, 8, 3)

        # Not vacuous: a valid frame does matter.
        changed = memory.clone()
        changed[1, 0] += 1.0
        assert abs(float(decoder(changed, valid, tokens, lengths)[0]) - float(loss)) > 1e-4


def test_output_at_position_t_ignores_later_tokens():
    decoder = tiny_decoder()
    memory, valid = random_memory([5, 5])
    inputs = torch.tensor([[SOS_EOS, 3, 4, 5, 6, 7], [SOS_EOS, 1, 2, 9, 9, 2]])
    with torch.no_grad():
        reference = decoder.logits(memory, valid, inputs)
        for t in range(inputs.size(1)):
            changed = inputs.clone()
            changed[:, t:] = (changed[:, t:] + 1) % SOS_EOS
            logits = decoder.logits(memory, valid, changed)
            if t > 0:
                assert (logits[:, :t] - reference[:, :t]).abs().max() <= 1e-6
            assert (logits[:, t] - reference[:, t]).abs().max() > 1e-4  # token t itself counts


def test_cached_steps_match_teacher_forcing():
    decoder = tiny_decoder()
    memory, valid = random_memory([5, 2, 7])
    inputs = torch.randint(0, SOS_EOS, (3, 6))
    inputs[:, 0] = SOS_EOS
    with torch.no_grad():
        expected = decoder.logits(memory, valid, inputs).log_softmax(dim=-1)
        session = decoder.start_session(memory, valid)
        for t in range(inputs.size(1)):
            assert (session.step(inputs[:, t]) - expected[:, t]).abs().max() <= 1e-5


def test_overfits_four_captions_and_decodes_them_back():
    decoder = tiny_decoder().train()
    memory, valid = random_memory([6, 3, 8, 5])
    tokens, lengths = pad_captions(CAPTIONS)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=1e-2)
    losses = []
    for _ in range(100):
        loss, stats = decoder(memory, valid, tokens, lengths)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0]
    assert float(stats["acc_cap"]) == 1.0
    decoder.eval()
    assert decoder.generate(memory, valid, max_length=10) == CAPTIONS
    assert decoder.generate(memory, valid, max_length=10, beam_size=3) == CAPTIONS
    # Stops at max_length: the captions cut after two tokens.
    assert decoder.generate(memory, valid, max_length=2) == [c[:2] for c in CAPTIONS]
    assert decoder.generate(memory, valid, max_length=2, beam_size=3) == [c[:2] for c in CAPTIONS]


def test_beam_size_one_is_greedy_and_wider_beams_score_at_least_as_well():
    """Also: clips of different memory lengths decode in a batch as they do alone."""
    decoder = tiny_decoder()
    memory, valid = random_memory([5, 3, 8, 1, 6, 4])
    max_length = 8
    with torch.no_grad():
        greedy = greedy_search(decoder.start_session(memory, valid), SOS_EOS, max_length)
        assert beam_search(decoder.start_session(memory, valid), SOS_EOS, max_length, 1) == greedy
        assert decoder.generate(memory, valid, max_length) == greedy
        beam = decoder.generate(memory, valid, max_length, beam_size=3)
    assert all(len(caption) <= max_length for caption in greedy + beam)
    assert all(SOS_EOS not in caption and 0 not in caption for caption in greedy + beam)
    improved = 0
    for i in range(len(greedy)):
        clip = memory[i : i + 1, : int(valid[i].sum())], valid[i : i + 1, : int(valid[i].sum())]
        assert decoder.generate(*clip, max_length) == [greedy[i]]
        assert decoder.generate(*clip, max_length, beam_size=3) == [beam[i]]
        greedy_score = mean_log_prob(decoder, *clip, greedy[i], max_length)
        beam_score = mean_log_prob(decoder, *clip, beam[i], max_length)
        assert beam_score >= greedy_score - 1e-6
        improved += beam_score > greedy_score + 1e-6
    assert improved > 0  # the beam found something greedy missed


def test_wide_beam_finds_the_best_caption_of_an_exhaustive_search():
    vocab, max_length = 5, 3  # captions over tokens {1, 2, 3}; 0 is <blank>, 4 <sos/eos>
    decoder = tiny_decoder(vocab_size=vocab).double()
    memory, valid = random_memory([4, 2], dtype=torch.float64)
    for clip in range(2):
        clip_memory = memory[clip : clip + 1], valid[clip : clip + 1]
        candidates = [
            list(caption)
            for length in range(max_length + 1)
            for caption in itertools.product([1, 2, 3], repeat=length)
        ]
        scores = [
            mean_log_prob(decoder, *clip_memory, caption, max_length, sos_eos=vocab - 1)
            for caption in candidates
        ]
        best = candidates[max(range(len(candidates)), key=scores.__getitem__)]
        # Wide enough to keep every extension: 9 live hypotheses x 4 tokens at the last step.
        assert decoder.generate(*clip_memory, max_length, beam_size=36) == [best]
        assert decoder.generate(*clip_memory, max_length, beam_size=1) == greedy_search(
            decoder.start_session(*clip_memory), vocab - 1, max_length
        )


class BigramSession:
    """A stand-in decoder whose next-token logits depend on the last token only."""

    def __init__(self, logits: torch.Tensor, batch_size: int):
        self.log_probs = logits.log_softmax(dim=-1)  # (V, V): row = last token
        self.batch_size = batch_size
        self.device = torch.device("cpu")

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.log_probs[tokens].clone()

    def reorder(self, index: torch.Tensor) -> None:
        """The last token is the whole state."""


def test_searches_never_emit_blank():
    # Ids: 0 <blank>, 1 <unk>, 2 a word, 3 <sos/eos>; <blank> is the likeliest after anything.
    logits = torch.tensor(
        [[0.0, 0.0, 0.0, 0.0], [5.0, 0.0, 0.0, 0.0], [5.0, 0.0, -1.0, 3.0], [5.0, 0.0, 3.0, -2.0]]
    )
    assert greedy_search(BigramSession(logits, 2), 3, max_length=4) == [[2], [2]]
    for beam_size in (2, 3):
        captions = beam_search(BigramSession(logits, 2), 3, max_length=4, beam_size=beam_size)
        assert captions[0] == captions[1] and 0 not in captions[0]


class CountingSession(BigramSession):
    """A bigram session that counts its decoding steps."""

    def __init__(self, logits: torch.Tensor, batch_size: int):
        super().__init__(logits, batch_size)
        self.steps = 0

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        self.steps += 1
        return super().step(tokens)


def test_beam_search_stops_early_once_no_live_hypothesis_can_win():
    # Ids: 0 <blank>, 1 and 2 words, 3 <sos/eos>. After <sos/eos> the word 1 is near certain,
    # after 1 the end is near certain: "1" wins with a mean log-prob near 0 at step 2, and
    # every live hypothesis is then bounded far below it.
    logits = torch.tensor(
        [[0.0, 0.0, 0.0, 0.0], [-9.0, -9.0, 0.0, 9.0], [-9.0, 0.0, 0.0, 0.0], [-9.0, 9.0, 0.0, -9.0]]
    )
    session = CountingSession(logits, batch_size=2)
    assert beam_search(session, 3, max_length=30, beam_size=3) == [[1], [1]]
    assert session.steps == 2
    # Every token equally likely: a live hypothesis of k tokens is bounded by
    # k * log(1/3) / max_length, above the finished captions' log(1/3), so no early stop.
    uniform = torch.tensor([[-1e9, 0.0, 0.0, 0.0]] * 4)
    session = CountingSession(uniform, batch_size=1)
    beam_search(session, 3, max_length=6, beam_size=2)
    assert session.steps == 6


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda dec, mem, val, tok, lens: dec(mem[..., :5], val, tok, lens), "memory must be"),
        (lambda dec, mem, val, tok, lens: dec(mem, val[:, :2], tok, lens), "memory_valid must"),
        (lambda dec, mem, val, tok, lens: dec(mem, val.long(), tok, lens), "memory_valid must"),
        (lambda dec, mem, val, tok, lens: dec(mem, val & False, tok, lens), "one valid memory"),
        (lambda dec, mem, val, tok, lens: dec(mem, val, tok[:1], lens), "tokens must be"),
        (lambda dec, mem, val, tok, lens: dec(mem, val, tok.float(), lens), "tokens must be"),
        (lambda dec, mem, val, tok, lens: dec(mem, val, tok, lens[:1]), "token_lengths must be"),
        (lambda dec, mem, val, tok, lens: dec(mem, val, tok, lens + 5), "token_lengths must lie"),
        (lambda dec, mem, val, tok, lens: dec(mem, val, tok, lens.clamp(min=3)), "ids must lie"),
        (lambda dec, mem, val, tok, lens: dec(mem, val, tok.fill_(SOS_EOS), lens), "ids must lie"),
        (
            lambda dec, mem, val, tok, lens: dec(
                mem, val, torch.ones(2, 20, dtype=torch.long), torch.tensor([20, 1])
            ),
            "exceeds the decoder's max_length",
        ),
        (lambda dec, mem, val, tok, lens: dec.generate(mem, val, beam_size=0), "beam_size"),
        (lambda dec, mem, val, tok, lens: dec.generate(mem, val, max_length=17), "max_length"),
        (lambda dec, mem, val, tok, lens: dec.generate(mem[..., :3], val, 5), "memory must be"),
        (lambda dec, mem, val, tok, lens: dec.generate(mem, val & False, 5), "one valid memory"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, message):
    decoder = tiny_decoder(check_values=True)
    memory, valid = random_memory([3, 2])
    tokens, lengths = pad_captions([[3, 4, 5], [6]])
    with pytest.raises(ValueError, match=message):
        call(decoder, memory, valid, tokens, lengths)


def test_bad_configuration_raises():
    with pytest.raises(ValueError, match="vocab_size"):
        tiny_decoder(vocab_size=2)
    with pytest.raises(ValueError, match="num_heads"):
        tiny_decoder(num_heads=5)


def test_training_forward_waits_for_the_device_only_when_asked(monkeypatch):
    """Value checks (``bool(tensor)``, a host sync each step) run only with check_values."""
    memory, valid = random_memory([3, 2])
    tokens, lengths = pad_captions([[3, 4, 5], [6]])
    bool_calls = []
    tensor_bool = torch.Tensor.__bool__
    monkeypatch.setattr(
        torch.Tensor, "__bool__", lambda self: bool_calls.append(1) or tensor_bool(self)
    )
    tiny_decoder().train()(memory, valid, tokens, lengths)
    assert bool_calls == []
    tiny_decoder(check_values=True).train()(memory, valid, tokens, lengths)
    assert len(bool_calls) == 3  # memory mask, caption lengths, caption ids

