"""16x16 patches in time-major order; padding falls at the end of each sample."""

import torch

from espnet2_slap.audio.patchify import num_patch_tokens, patchify
from espnet2_slap.layers.packed_batch import PackedBatch, valid_mask


def test_time_major_order_and_patch_content():
    frames, mels, p = 40, 64, 16
    t = torch.arange(frames).view(frames, 1).expand(frames, mels)
    f = torch.arange(mels).view(1, mels).expand(frames, mels)
    feats = (t * 1000 + f).float()[None]  # value encodes (frame, bin)
    patches, positions = patchify(feats, torch.tensor([frames]), p)
    # ceil(40 / 16) = 3 time steps x 4 frequency patches
    assert patches.values.shape == (12, p * p)
    expected_positions = [(s, b) for s in range(3) for b in range(4)]
    assert positions.tolist() == [list(x) for x in expected_positions]
    for token, (step, band) in enumerate(expected_positions):
        patch = patches.values[token].view(p, p)  # (time, freq)
        for dt in (0, 7, 15):
            frame = step * p + dt
            want = (
                torch.arange(band * p, band * p + p).float() + frame * 1000
                if frame < frames
                else torch.zeros(p)
            )
            torch.testing.assert_close(patch[dt], want)


def test_padding_is_dropped_and_ignored():
    feats = torch.randn(3, 50, 64)
    lengths = torch.tensor([50, 16, 17])
    patches, _ = patchify(feats, lengths, 16)
    assert patches.lengths.tolist() == [4 * 4, 1 * 4, 2 * 4]
    garbage = feats.clone()
    garbage[1, 16:] = 1e6
    garbage[2, 17:] = -1e6
    again, _ = patchify(garbage, lengths, 16)
    torch.testing.assert_close(again.values, patches.values)


def test_each_sample_alone_gives_the_same_patches():
    feats = torch.randn(2, 70, 64)
    lengths = torch.tensor([70, 33])
    batch, pos = patchify(feats, lengths, 16)
    for i, (values, positions) in enumerate(zip(batch.split(), pos.split(batch.lengths.tolist()))):
        alone, alone_pos = patchify(feats[i : i + 1, : lengths[i]], lengths[i : i + 1], 16)
        torch.testing.assert_close(alone.values, values)
        assert torch.equal(alone_pos, positions)


def test_token_count_rule_for_ints_and_tensors():
    # ceil(frames / 16) time steps, at least one, times 4 frequency patches
    frames = [0, 1, 16, 17, 50]
    expected = [4, 4, 4, 8, 16]
    assert [num_patch_tokens(n, 16, 4) for n in frames] == expected
    assert num_patch_tokens(torch.tensor(frames), 16, 4).tolist() == expected
    feats = torch.randn(len(frames), 50, 64)
    assert patchify(feats, torch.tensor(frames), 16)[0].lengths.tolist() == expected


def test_valid_mask_and_padded_round_trip_with_an_empty_sample():
    lengths = torch.tensor([2, 0, 3])
    assert valid_mask(lengths, 4).tolist() == [
        [True, True, False, False],
        [False, False, False, False],  # an empty row is all padding
        [True, True, True, False],
    ]
    packed = PackedBatch(torch.arange(5.0)[:, None], lengths)
    padded, valid = packed.to_padded(pad_value=-1.0)
    assert padded[..., 0].tolist() == [[0.0, 1.0, -1.0], [-1.0, -1.0, -1.0], [2.0, 3.0, 4.0]]
    assert valid.tolist() == valid_mask(lengths, 3).tolist()
    assert torch.equal(PackedBatch.from_padded(padded, lengths).values, packed.values)
