import math

import pytest
import torch

from deepclust.augment import random_affine, transform


def _image(h=6, w=8):
    x = torch.zeros(1, 1, h, w)
    x[0, 0, 2, 3] = 1.0
    return x


def test_a_one_pixel_shift_moves_every_pixel_by_one():
    x = _image()
    right = transform(x, torch.zeros(1), torch.tensor([2 / 8]), torch.zeros(1))
    down = transform(x, torch.zeros(1), torch.zeros(1), torch.tensor([2 / 6]))
    assert torch.allclose(right[0, 0, 2, 4], torch.tensor(1.0), atol=1e-5)
    assert torch.allclose(down[0, 0, 3, 3], torch.tensor(1.0), atol=1e-5)
    assert right.sum().item() == pytest.approx(1.0, abs=1e-5)


def test_a_quarter_turn_of_a_square_image_is_rot90():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    turned = transform(x, torch.tensor([math.pi / 2]), torch.zeros(1), torch.zeros(1))
    assert torch.allclose(turned, torch.rot90(x, k=1, dims=(2, 3)), atol=1e-4)


def test_random_affine_keeps_shape_stays_within_bounds_and_is_reproducible():
    x = torch.rand(5, 48)
    a = random_affine(x, (1, 6, 8), torch.Generator().manual_seed(0))
    b = random_affine(x, (1, 6, 8), torch.Generator().manual_seed(0))
    c = random_affine(x, (1, 6, 8), torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a, x)
    # a shift of at most one pixel and 10 degrees keeps most of the mass of a centred blob
    blob = torch.zeros(1, 1, 16, 16)
    blob[0, 0, 6:10, 6:10] = 1.0
    moved = random_affine(blob, (1, 16, 16), torch.Generator().manual_seed(2))
    assert moved.sum().item() == pytest.approx(16.0, rel=0.05)


def test_zero_ranges_are_the_identity():
    x = torch.rand(3, 2, 5, 7)
    same = random_affine(x, (2, 5, 7), torch.Generator(), max_shift=0.0, max_rotation=0.0)
    assert torch.allclose(same, x, atol=1e-5)
