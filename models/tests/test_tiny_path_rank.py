"""path_rank's pairs (pure numpy, fast): each pair differs only by how far it is along its path.
Run: pytorch-env python -m unittest discover -s models/tests -p 'test_tiny_*.py'"""
from __future__ import annotations

import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tessera_models import path_rank, world  # noqa: E402
from tessera_models.judge import judge  # noqa: E402


def share(img: np.ndarray, colour: int) -> float:
    return float(np.all(img == np.rint(world.PALETTE_ARRAY[colour]).astype(np.uint8), -1).mean())


class PathRank(unittest.TestCase):
    def test_superellipse_spans_circle_to_square(self):
        circle = world._coverage("circle", 32, 32, 36)
        square = world._coverage("square", 32, 32, 36)
        self.assertLess(np.abs(path_rank.superellipse(32, 32, 36, 2.0) - circle).mean(), 0.01)
        self.assertLess(np.abs(path_rank.superellipse(32, 32, 36, 60.0) - square).mean(), 0.01)

    def test_background_pairs_move_towards_the_prompt(self):
        rng = np.random.default_rng(3)
        for _ in range(50):
            (c, s, b, _, _), worse, better = path_rank.background_pair(rng)
            self.assertNotEqual(c, b)
            self.assertGreater(share(better, b), share(worse, b))
            self.assertEqual(share(better, c), share(worse, c))  # the object stays as it was

    def test_shape_pairs_move_towards_the_prompt(self):
        rng = np.random.default_rng(4)
        for _ in range(50):
            (c, s, b, _, _), worse, better = path_rank.shape_pair(rng)
            self.assertIn(world.SHAPES[s], ("square", "circle"))
            fill_w, fill_b = judge(worse)["fill"], judge(better)["fill"]
            if world.SHAPES[s] == "square":
                self.assertGreater(fill_b, fill_w)
            else:
                self.assertLess(fill_b, fill_w)


if __name__ == "__main__":
    unittest.main()
