"""World generator, judge and the reference loop's RNG (pure, fast).
Run: pytorch-env python -m unittest discover -s models/tests -p 'test_tiny_*.py'"""
from __future__ import annotations

import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tessera_models import world  # noqa: E402
from tessera_models.judge import judge  # noqa: E402
from tessera_models.reference_loop import Mulberry32, parse_prompts, quality_prompts  # noqa: E402


class World(unittest.TestCase):
    def test_seeded(self):
        a, sa = world.make_pool(20, 7)
        b, sb = world.make_pool(20, 7)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(sa, sb)
        self.assertTrue((sa[:, 0] != sa[:, 2]).all())  # background differs from the object

    def test_judge_reads_world_images(self):
        imgs, scenes = world.make_pool(300, 11)
        for img, s in zip(imgs, scenes):
            j = judge(img)
            self.assertEqual((j["colour"], j["shape"], j["background"]),
                             (world.COLOURS[s[0]], world.SHAPES[s[1]], world.COLOURS[s[2]]))

    def test_judge_rules(self):
        img = np.zeros((64, 64, 3), np.uint8) + np.array(world.PALETTE["blue"], np.uint8)
        img[10:30, 10:30] = world.PALETTE["red"]         # a square (fill 1.0)
        img[40:44, 40:44] = world.PALETTE["green"]       # a smaller other colour
        j = judge(img)
        self.assertEqual((j["background"], j["colour"], j["shape"]), ("blue", "red", "square"))
        img[0, :] = world.PALETTE["red"]                 # border row: still mostly blue
        self.assertEqual(judge(img)["background"], "blue")
        empty = np.zeros((64, 64, 3), np.uint8) + np.array(world.PALETTE["white"], np.uint8)
        self.assertIsNone(judge(empty)["colour"])

    def test_captions(self):
        rng = np.random.default_rng(0)
        for _ in range(200):
            sc = world.sample_scene(rng)
            a = world.sample_caption_attrs(sc, rng)
            words = world.caption_words(a, rng)
            self.assertIn(world.COLOURS[sc.colour], words)
            self.assertLessEqual(len(words), world.CONTEXT - 2)
            world.tokenize(" ".join(words))
            h = world.hard_negative_attrs(a, rng)
            self.assertFalse(world.compatible(np.array([h]), np.array([sc.as_tuple()]))[0, 0])
            self.assertTrue(world.compatible(np.array([a]), np.array([sc.as_tuple()]))[0, 0])


class Rng(unittest.TestCase):
    def test_mulberry32_matches_js(self):
        # node -e: mulberry32 of BUNDLE.md, seed 1
        r = Mulberry32(1)
        np.testing.assert_allclose(r.draws(3), [0.6270739405881613, 0.002735721180215478, 0.5274470399599522], rtol=0, atol=1e-16)
        r2 = Mulberry32(1)
        self.assertEqual([r2.next() for _ in range(3)], list(Mulberry32(1).draws(3)))
        r3 = Mulberry32(2 ** 32 + 5)
        self.assertEqual(r3.state, 5)

    def test_normals(self):
        r = Mulberry32(3)
        u = Mulberry32(3).draws(2)
        n = r.normals(1)[0]
        self.assertAlmostEqual(n, np.sqrt(-2 * np.log(1 - u[0])) * np.cos(2 * np.pi * u[1]))
        x = Mulberry32(4).normals(20000)
        self.assertLess(abs(x.mean()), 0.03)
        self.assertLess(abs(x.std() - 1), 0.03)

    def test_prompts(self):
        self.assertEqual(parse_prompts("a red circle|blue:-0.5|green:2:0.3"),
                         [("a red circle", 1.0, -1.0), ("blue", -0.5, -1.0), ("green", 2.0, 0.3)])
        with self.assertRaises(ValueError):
            parse_prompts("red:-1")
        q = quality_prompts(32)
        self.assertEqual(len({e["background"] for _, e in q}), 8)
        self.assertEqual(len({e["colour"] for _, e in q}), 8)
        self.assertTrue(all(e["colour"] != e["background"] for _, e in q))


if __name__ == "__main__":
    unittest.main()
