"""2D RoPE: q.k depends on positions only through the (time, frequency) offset."""

import torch

from espnet2_slap.layers.rope2d import RotaryEmbedding2D, apply_rope_2d


def rotated_dot(rope, q, k, pos_q, pos_k):
    cos_q, sin_q = rope(torch.tensor([pos_q]))
    cos_k, sin_k = rope(torch.tensor([pos_k]))
    return (apply_rope_2d(q, cos_q, sin_q) * apply_rope_2d(k, cos_k, sin_k)).sum()


def test_dot_product_depends_only_on_offset():
    rope = RotaryEmbedding2D(head_dim=16)
    q, k = torch.randn(2, 1, 1, 16, dtype=torch.float64)
    base = rotated_dot(rope, q, k, (3, 1), (7, 2))
    for shift in [(1, 0), (0, 2), (25, 3), (180, 1)]:
        moved = rotated_dot(
            rope, q, k, (3 + shift[0], 1 + shift[1]), (7 + shift[0], 2 + shift[1])
        )
        torch.testing.assert_close(moved.float(), base.float(), atol=1e-4, rtol=1e-4)
    # a different offset gives a different score (the encoding is not trivial)
    other = rotated_dot(rope, q, k, (3, 1), (9, 2))
    assert (other - base).abs() > 1e-3
    other_freq = rotated_dot(rope, q, k, (3, 1), (7, 3))
    assert (other_freq - base).abs() > 1e-3


def test_rotation_preserves_norm_and_is_identity_at_origin():
    rope = RotaryEmbedding2D(head_dim=8)
    x = torch.randn(5, 3, 8)
    positions = torch.tensor([[0, 0], [1, 0], [0, 1], [12, 3], [187, 2]])
    cos, sin = rope(positions)
    y = apply_rope_2d(x, cos, sin)
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(y[0], x[0])
    assert not torch.allclose(y[1], x[1])


def test_time_and_frequency_use_separate_halves():
    """Moving in time rotates only the first half of the head, frequency only the second."""
    rope = RotaryEmbedding2D(head_dim=8)
    x = torch.randn(1, 1, 8)
    origin = apply_rope_2d(x, *rope(torch.tensor([[0, 0]])))
    in_time = apply_rope_2d(x, *rope(torch.tensor([[5, 0]])))
    in_freq = apply_rope_2d(x, *rope(torch.tensor([[0, 2]])))
    torch.testing.assert_close(in_time[..., 4:], origin[..., 4:])
    assert not torch.allclose(in_time[..., :4], origin[..., :4])
    torch.testing.assert_close(in_freq[..., :4], origin[..., :4])
    assert not torch.allclose(in_freq[..., 4:], origin[..., 4:])
