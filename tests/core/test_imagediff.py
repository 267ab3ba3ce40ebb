"""The difference heatmap (app/core/imagediff.py)."""

from __future__ import annotations

import numpy as np
import pytest

from signoff.core.imagediff import RAMP, difference


def test_identical_images_have_no_difference():
    a = np.full((4, 5, 4), 120, dtype=np.uint8)
    d = difference(a, a.copy())
    assert d.stats.max == 0 and d.stats.changed == 0 and d.stats.words() == "identical pixels"
    assert (d.heat[..., :3] == RAMP[0]).all() and (d.heat[..., 3] == 255).all()


def test_difference_is_the_largest_channel_difference_and_is_counted():
    a = np.zeros((2, 2, 4), dtype=np.uint8)
    b = a.copy()
    b[0, 0, 1] = 200          # one pixel, green channel
    b[1, 1, 0] = 5            # below the threshold
    d = difference(a, b)
    assert d.magnitude[0, 0] == 200 and d.magnitude[1, 1] == 5
    assert d.stats.changed == 1 and d.stats.pixels == 4 and d.stats.max == 200
    assert "25.0% of pixels differ" in d.stats.words()
    assert tuple(d.heat[0, 0, :3]) == tuple(RAMP[255])     # the peak uses the top of the ramp


def test_shapes_must_match():
    with pytest.raises(ValueError):
        difference(np.zeros((2, 2, 4), np.uint8), np.zeros((2, 3, 4), np.uint8))
