"""Pixel differences between two images as a heatmap (pure numpy, no Qt).

    difference(a, b) -> Difference(heat, stats)

`a` and `b` are H×W×4 uint8 arrays (RGBA) of the same size; the UI decodes
and scales them (app/ui), this module only does the arithmetic. The
difference of a pixel is the largest absolute difference of its channels
(0..255); the heatmap maps it through a perceptual ramp from black (equal)
through purple and orange to pale yellow (largest), readable with the
common kinds of colour blindness, and the stats say in words how much
changed (colour is never the only cue).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Anchors of the ramp (an "inferno"-like ramp): position 0..255 -> RGB.
_ANCHORS = [
    (0, (0, 0, 4)),
    (40, (40, 11, 84)),
    (90, (101, 21, 110)),
    (140, (159, 42, 99)),
    (180, (212, 72, 66)),
    (215, (245, 125, 21)),
    (240, (250, 193, 39)),
    (255, (252, 255, 164)),
]
CHANGED_THRESHOLD = 8      # a channel difference above this counts as a changed pixel


def _ramp() -> np.ndarray:
    xs = np.array([p for p, _ in _ANCHORS], dtype=float)
    cols = np.array([c for _, c in _ANCHORS], dtype=float)
    grid = np.arange(256, dtype=float)
    lut = np.stack([np.interp(grid, xs, cols[:, ch]) for ch in range(3)], axis=1)
    return lut.round().astype(np.uint8)


RAMP = _ramp()


@dataclass(frozen=True)
class DiffStats:
    pixels: int
    changed: int            # pixels whose difference is above CHANGED_THRESHOLD
    mean: float             # mean difference, 0..255
    max: int                # largest difference, 0..255

    @property
    def changed_share(self) -> float:
        return self.changed / self.pixels if self.pixels else 0.0

    def words(self) -> str:
        if not self.pixels:
            return "no pixels to compare"
        if self.max == 0:
            return "identical pixels"
        return (f"{self.changed_share:.1%} of pixels differ (by more than {CHANGED_THRESHOLD}/255) · "
                f"mean difference {self.mean:.1f}/255 · largest {self.max}/255")


@dataclass(frozen=True)
class Difference:
    heat: np.ndarray        # H×W×4 uint8 RGBA heatmap
    magnitude: np.ndarray   # H×W uint8, the per-pixel difference
    stats: DiffStats


def difference(a: np.ndarray, b: np.ndarray, *, gain: float | None = None) -> Difference:
    """Heatmap of |a - b|. `gain` stretches small differences (None: so that the
    largest difference uses the whole ramp, at most 8×)."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"expected H×W×3 or H×W×4 arrays, got {a.shape}")
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2).astype(np.uint8)
    peak = int(diff.max()) if diff.size else 0
    if gain is None:
        gain = min(8.0, 255.0 / peak) if peak else 1.0
    scaled = np.clip(diff.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    heat = np.empty(diff.shape + (4,), dtype=np.uint8)
    heat[..., :3] = RAMP[scaled]
    heat[..., 3] = 255
    stats = DiffStats(pixels=int(diff.size), changed=int((diff > CHANGED_THRESHOLD).sum()),
                      mean=float(diff.mean()) if diff.size else 0.0, max=peak)
    return Difference(heat, diff, stats)
