"""Image augmentation by random shifts and rotations, shared by every method that augments.

DynAE (paper 003, Sec. 4 "Implementation details") transforms each image by a random shift
δ1 ∈ [−1, 1] along its width, δ2 ∈ [−1, 1] along its height and a random rotation
φ ∈ [−10°, 10°]. We read δ in **pixels** (a shift of at most one pixel): the paper gives no
unit, and a shift by a fraction of the image would be written as a range like [−0.1, 0.1] (the
Keras ``width_shift_range`` convention). The survey's augmented losses (Eq. 20-25) use the same
transformation here.

Shifts are continuous (bilinear interpolation) and the area outside the image is filled with
zeros, the background of the benchmark images. Every random number comes from the caller's
generator, so a run is reproducible; it is drawn on the generator's device and moved to the
data's.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F


def random_affine(
    x: torch.Tensor,
    image_shape: tuple[int, int, int],
    generator: torch.Generator,
    *,
    max_shift: float = 1.0,
    max_rotation: float = 10.0,
) -> torch.Tensor:
    """A randomly shifted and rotated copy of each image in ``x``.

    ``x``: flat rows ``(n, c·h·w)`` or images ``(n, c, h, w)``; the result has the same shape.
    Each image gets its own shift (dx, dy) uniform in [−max_shift, max_shift] pixels and its
    own rotation uniform in [−max_rotation, max_rotation] degrees, about the image centre.
    """
    c, h, w = image_shape
    n = len(x)
    if n == 0:
        return x.clone()
    images = x.reshape(n, c, h, w)
    u = torch.rand(n, 3, generator=generator, device=generator.device).to(x.device, x.dtype)
    u = 2 * u - 1  # uniform in [-1, 1]
    angle = u[:, 0] * math.radians(max_rotation)
    shift_x = u[:, 1] * max_shift * 2 / w  # affine_grid works in [-1, 1] image coordinates
    shift_y = u[:, 2] * max_shift * 2 / h
    return transform(images, angle, shift_x, shift_y).reshape(x.shape)


def augmenter(
    image_shape: tuple[int, int, int] | None,
    generator: torch.Generator,
    *,
    max_shift: float,
    max_rotation: float,
    key: str,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The run's augmentation x ↦ x^A: ``random_affine`` with these ranges, drawing from
    ``generator``. ``key`` names the setting that asked for it (``algorithms.idec.augment``)
    in the error raised for data that are not images (``image_shape`` None)."""
    if image_shape is None:
        raise ValueError(
            f"{key} needs image data; the autoencoder has no image shape: set {key}: false"
        )
    return functools.partial(
        random_affine,
        image_shape=image_shape,
        generator=generator,
        max_shift=max_shift,
        max_rotation=max_rotation,
    )


def transform(
    images: torch.Tensor, angle: torch.Tensor, shift_x: torch.Tensor, shift_y: torch.Tensor
) -> torch.Tensor:
    """Rotate each image of ``images`` (n, c, h, w) by ``angle`` (radians, counter-clockwise
    on screen) about its centre, then shift it by (``shift_x``, ``shift_y``) in normalised
    coordinates (2 = the whole width or height; positive = right / down)."""
    n, _, h, w = images.shape
    cos, sin = torch.cos(angle), torch.sin(angle)
    # affine_grid maps output coordinates to input coordinates: the inverse transformation.
    # Coordinates are normalised per axis, so a rotation of a non-square image needs the
    # aspect ratio to stay a rotation in pixels.
    aspect = w / h
    theta = torch.zeros(n, 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0] = cos
    theta[:, 0, 1] = -sin / aspect
    theta[:, 1, 0] = sin * aspect
    theta[:, 1, 1] = cos
    theta[:, 0, 2] = -(cos * shift_x - sin / aspect * shift_y)
    theta[:, 1, 2] = -(sin * aspect * shift_x + cos * shift_y)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
