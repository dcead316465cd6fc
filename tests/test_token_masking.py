"""Random token masks over packed batches: per-sample counts, uniformity, validation."""

import pytest
import torch

from espnet2_slap.ssl.token_masking import num_masked_tokens, random_token_mask

LENGTHS = [0, 1, 2, 3, 7, 10, 100]


@pytest.mark.parametrize(
    "ratio, expected",
    [
        (0.5, [0, 0, 1, 2, 4, 5, 50]),  # round(1.5) = 2, round(3.5) = 4 (half to even)
        (0.1, [0, 0, 1, 1, 1, 1, 10]),  # at least one masked token
        (0.9, [0, 0, 1, 2, 6, 9, 90]),  # at least one visible token
    ],
)
def test_masked_count_per_sample(ratio, expected):
    lengths = torch.tensor(LENGTHS)
    assert num_masked_tokens(lengths, ratio).tolist() == expected
    mask = random_token_mask(lengths, ratio, torch.Generator().manual_seed(0))
    assert mask.dtype == torch.bool and mask.shape == (sum(LENGTHS),)
    per_sample = [int(part.sum()) for part in torch.split(mask, LENGTHS)]
    assert per_sample == expected


def test_positions_are_uniform():
    lengths = torch.full((4000,), 5)
    mask = random_token_mask(lengths, 0.4, torch.Generator().manual_seed(1)).view(4000, 5)
    assert (mask.sum(dim=1) == 2).all()
    frequency = mask.double().mean(dim=0)  # each position masked with probability 2/5
    expected = torch.full((5,), 0.4, dtype=torch.float64)
    torch.testing.assert_close(frequency, expected, atol=0.03, rtol=0)
    pairs = {tuple(row) for row in mask.tolist()}
    assert len(pairs) == 10  # all C(5, 2) masks occur


def test_generator_makes_masks_reproducible():
    lengths = torch.tensor([30, 17, 64])
    first = random_token_mask(lengths, 0.5, torch.Generator().manual_seed(7))
    again = random_token_mask(lengths, 0.5, torch.Generator().manual_seed(7))
    other = random_token_mask(lengths, 0.5, torch.Generator().manual_seed(8))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.1, 1.5])
def test_rejects_ratio_outside_open_interval(ratio):
    with pytest.raises(ValueError, match="ratio"):
        random_token_mask(torch.tensor([4, 5]), ratio)


@pytest.mark.parametrize(
    "lengths", [torch.tensor([[4, 5]]), torch.tensor([4.0, 5.0]), torch.tensor([4, -1])]
)
def test_rejects_bad_lengths(lengths):
    with pytest.raises(ValueError, match="lengths"):
        random_token_mask(lengths, 0.5)
