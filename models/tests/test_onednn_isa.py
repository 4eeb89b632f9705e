"""oneDNN capped at SSE4.1 (tessera_models/onednn_isa.py) computes the convs training relies on
correctly, against float64: the image tower conv's forward and the decoder's 32→3 input gradient.
Run: pytorch-env python -m unittest tests.test_onednn_isa (from models/)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from tessera_models import onednn_isa  # noqa: E402  (before torch)


class CappedOneDnn(unittest.TestCase):
    def test_agrees_with_float64(self):
        if os.environ.get("ONEDNN_MAX_CPU_ISA") != "SSE41":
            self.skipTest("ONEDNN_MAX_CPU_ISA set to something else in the environment")
        errs = onednn_isa.check()
        for name, err in errs.items():
            self.assertLess(err, 1e-5, name)


if __name__ == "__main__":
    unittest.main()
