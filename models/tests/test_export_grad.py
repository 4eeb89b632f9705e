"""export_grad on a toy model with every op family the real graphs use: strided conv, group norm,
single-head attention (softmax(q kᵀ·scale) v), nearest upsampling, in-graph cutouts, layer norm,
token select/slice, the spherical loss with stops. onnxruntime's loss and gradient must equal
torch.autograd's.

Run: ../shared/tools/pytorch-env python -m unittest discover -s models/tests -p 'test_export_grad.py'
"""
import os
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tessera_models.export_grad import (  # noqa: E402
    export_grad_graph, linear, make_cutouts, spherical_loss, upsample_nearest)


class ToyDecoder(nn.Module):
    def __init__(self, c=4, ch=16, interpolate=True):
        super().__init__()
        # F.interpolate's symbolic-shape decomposition is index arithmetic that exports badly;
        # shape-polymorphic graphs use upsample_nearest (expand + reshape) instead
        self.interpolate = interpolate
        self.conv_in = nn.Conv2d(c, ch, 3, padding=1)
        self.norm = nn.GroupNorm(4, ch, eps=1e-6)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = nn.Conv2d(ch, ch, 1)
        self.down = nn.Conv2d(ch, ch, 3, stride=2, padding=0)   # odd sizes -> output_padding
        self.conv_out = nn.Conv2d(ch, 3, 3, padding=1)

    def forward(self, z):
        h = self.conv_in(z)
        n, c, hh, ww = h.shape
        q, k, v = self.qkv(self.norm(h)).reshape(n, 3, c, hh * ww).unbind(1)
        a = torch.softmax(torch.bmm(q.transpose(1, 2), k) * c ** -0.5, dim=2)  # [n, hw, hw]
        h = h + self.proj(torch.bmm(v, a.transpose(1, 2)).reshape(n, c, hh, ww))
        h = F.pad(h, (0, 1, 0, 1))
        h = F.silu(self.down(h))
        if self.interpolate:
            h = F.interpolate(h, scale_factor=4.0, mode="nearest")
        else:
            h = upsample_nearest(h, 4)
        return self.conv_out(h)


class ToyClip(nn.Module):
    def __init__(self, s=8, width=16, dim=8):
        super().__init__()
        self.patch = nn.Conv2d(3, width, 4, stride=4, bias=False)
        self.cls = nn.Parameter(torch.randn(width))
        self.ln = nn.LayerNorm(width)
        self.in_proj_weight = nn.Parameter(torch.randn(3 * width, width) * width ** -0.5)
        self.out = nn.Linear(width, width)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, dim))

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)                        # [B, L, W]
        x = torch.cat([self.cls.expand(x.shape[0], 1, -1), x], dim=1)
        y = self.ln(x)
        q, k, v = linear(y, self.in_proj_weight).chunk(3, dim=-1)
        a = torch.softmax(q @ k.transpose(1, 2) * q.shape[-1] ** -0.5, dim=-1)
        x = x + linear(a @ v, self.out.weight, self.out.bias)
        x = self.ln_post(x[:, 0, :])                                        # select -> select_backward
        x = x @ self.proj
        return x / x.norm(dim=-1, keepdim=True)


NAMES = ["z", "targets", "weights", "stops", "cuts"]


def toy_loss(interpolate):
    torch.manual_seed(0)
    dec, clip = ToyDecoder(interpolate=interpolate).eval(), ToyClip().eval()
    for p in list(dec.parameters()) + list(clip.parameters()):
        p.requires_grad_(False)

    def loss_fn(z, targets, weights, stops, cuts):
        img = torch.clamp((dec(z) + 1) / 2, 0, 1)
        e = clip(make_cutouts(img, cuts, 8))
        return spherical_loss(e, targets, weights, stops), img
    return loss_fn


def reference(loss_fn, inputs):
    zr = inputs[0].clone().requires_grad_(True)
    loss, img = loss_fn(zr, *inputs[1:])
    (grad,) = torch.autograd.grad(loss, zr)
    return loss.detach().numpy(), grad.numpy(), img.detach().numpy()


class ExportGradTest(unittest.TestCase):
    def test_dynamic_sizes(self):
        """One graph traced with symbolic sizes serves other latent sizes, cutout and prompt
        counts."""
        self._dynamic_sizes("transpose")

    def test_dynamic_sizes_conv_grad_as_conv(self):
        """Same, with stride-1 convolution gradients written as Conv with flipped kernels."""
        self._dynamic_sizes("conv")

    def _dynamic_sizes(self, conv_grad):
        import onnx
        import onnxruntime as ort

        loss_fn = toy_loss(interpolate=False)
        g = torch.Generator().manual_seed(1)

        def inputs(h, w, n, p):
            img_h, img_w = ((h - 2) // 2 + 1) * 4, ((w - 2) // 2 + 1) * 4   # pad 1, conv k3 s2, x4
            size = torch.randint(2, min(img_h, img_w) + 1, (n,), generator=g).float()
            x0 = (torch.rand(n, generator=g) * (img_w - size + 1)).floor()
            y0 = (torch.rand(n, generator=g) * (img_h - size + 1)).floor()
            flip = (torch.rand(n, generator=g) < 0.5).float()
            return (torch.randn(1, 4, h, w, generator=g),
                    F.normalize(torch.randn(p, 8, generator=g), dim=-1),
                    torch.randn(p, generator=g), torch.rand(p, generator=g) - 0.5,
                    torch.stack([x0, y0, size, flip], dim=1))

        with tempfile.TemporaryDirectory() as tmp:
            path = export_grad_graph(
                loss_fn, inputs(7, 9, 3, 2), NAMES, ["loss", "grad", "image"],
                os.path.join(tmp, "toy.onnx"), has_aux=True,
                dynamic_axes={"z": {2: "h", 3: "w"}, "targets": {0: "P"}, "weights": {0: "P"},
                              "stops": {0: "P"}, "cuts": {0: "N"}}, conv_grad=conv_grad)
            op_types = [n.op_type for n in onnx.load(path).graph.node]
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            for h, w, n, p in [(7, 9, 3, 2), (9, 7, 5, 1), (11, 13, 2, 3), (5, 5, 4, 2)]:
                x = inputs(h, w, n, p)
                loss, grad, image = sess.run(None, {k: t.numpy() for k, t in zip(NAMES, x)})
                loss_ref, grad_ref, img_ref = reference(loss_fn, x)
                self.assertEqual(image.shape, img_ref.shape)
                np.testing.assert_allclose(loss, loss_ref, rtol=1e-4, atol=1e-6)
                rel = np.abs(grad - grad_ref).max() / max(np.abs(grad_ref).max(), 1e-12)
                self.assertLess(rel, 1e-4, f"{(h, w, n, p)}: grad max rel err {rel}")
                np.testing.assert_allclose(image, img_ref, rtol=0, atol=1e-5)
        n_convt = op_types.count("ConvTranspose")
        # strided: the decoder's downsampling conv and the patch embedding
        self.assertEqual(n_convt, 2 if conv_grad == "conv" else 6)
        return op_types

    def test_fixed_dynamic_axis_is_reported(self):
        """A model that branches on a size pins it; the export says which axis and why."""
        lin = nn.Linear(4, 4)
        for p in lin.parameters():
            p.requires_grad_(False)

        def loss_fn(z, x):
            y = linear(z.reshape(1, -1, 4) * x.sum(), lin.weight, lin.bias)
            if z.shape[2] == 3:
                y = y * 2
            return (y ** 2).sum()

        with tempfile.TemporaryDirectory() as tmp, self.assertRaises(ValueError) as cm:
            export_grad_graph(loss_fn, (torch.randn(1, 8, 3, 4), torch.randn(5)), ["z", "x"],
                              ["loss", "grad"], os.path.join(tmp, "f.onnx"),
                              dynamic_axes={"z": {1: "c", 2: "h"}, "x": {0: "n"}})
        msg = str(cm.exception)
        self.assertIn("z[2] (h) = 3", msg)
        self.assertNotIn("(c)", msg)
        self.assertNotIn("(n)", msg)

    def test_onnx_gradient_matches_autograd(self):
        import onnxruntime as ort

        torch.manual_seed(0)
        dec, clip = ToyDecoder().eval(), ToyClip().eval()
        for p in list(dec.parameters()) + list(clip.parameters()):
            p.requires_grad_(False)
        S = 8

        def loss_fn(z, targets, weights, stops, cuts):
            img = torch.clamp((dec(z) + 1) / 2, 0, 1)
            e = clip(make_cutouts(img, cuts, S))
            return spherical_loss(e, targets, weights, stops), img

        z = torch.randn(1, 4, 7, 7)  # image 12x12
        targets = F.normalize(torch.randn(2, 8), dim=-1)
        weights = torch.tensor([1.0, -0.5])
        stops = torch.tensor([-1.0, 1.25])   # the second stop zeroes some of its distances' grads
        cuts = torch.tensor([[0., 0., 12., 0.], [3., 2., 9., 1.], [5., 7., 5., 0.]])
        inputs = (z, targets, weights, stops, cuts)

        zr = z.clone().requires_grad_(True)
        loss_ref, img_ref = loss_fn(zr, *inputs[1:])
        (grad_ref,) = torch.autograd.grad(loss_ref, zr)

        with tempfile.TemporaryDirectory() as tmp:
            path = export_grad_graph(
                loss_fn, inputs, ["z", "targets", "weights", "stops", "cuts"],
                ["loss", "grad", "image"], os.path.join(tmp, "toy.onnx"), has_aux=True,
                symbolic=False, dynamic_axes={"targets": {0: "P"}, "weights": {0: "P"}, "stops": {0: "P"},
                              "cuts": {0: "N"}})
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            feeds = {n: t.numpy() for n, t in zip(["z", "targets", "weights", "stops", "cuts"],
                                                   inputs)}
            loss, grad, image = sess.run(["loss", "grad", "image"], feeds)
            op_types = {n.op_type for n in __import__("onnx").load(path).graph.node}

        self.assertIn("ConvTranspose", op_types)
        self.assertIn("Softmax", op_types)
        self.assertGreater(float(grad_ref.abs().max()), 0)
        np.testing.assert_allclose(loss, loss_ref.detach().numpy(), rtol=1e-4, atol=0)
        rel = np.abs(grad - grad_ref.numpy()).max() / np.abs(grad_ref.numpy()).max()
        self.assertLess(rel, 1e-4, f"grad max rel err {rel}")
        print(f"\ntoy export_grad: loss {float(loss):.6f}, grad max rel err {rel:.2e}", file=sys.stderr)
        np.testing.assert_allclose(image, img_ref.detach().numpy(), rtol=0, atol=1e-5)

    def test_cutouts_crop_resize_and_flip(self):
        img = torch.arange(2 * 6 * 7, dtype=torch.float32).reshape(1, 2, 6, 7)
        # size == S: an exact crop; flip mirrors the columns
        cuts = torch.tensor([[1., 2., 4., 0.], [1., 2., 4., 1.]])
        out = make_cutouts(img, cuts, 4)
        crop = img[0, :, 2:6, 1:5]
        torch.testing.assert_close(out[0], crop)
        torch.testing.assert_close(out[1], crop.flip(-1))
        # shrinking a constant image keeps it constant; each output reads only the crop
        const = torch.full((1, 3, 10, 10), 0.25)
        const[..., :, 0] = 9.0   # outside the crop below
        out = make_cutouts(const, torch.tensor([[1., 0., 8., 0.]]), 3)
        torch.testing.assert_close(out, torch.full((1, 3, 3, 3), 0.25))

    def test_cutouts_equal_antialiased_bilinear_resize(self):
        """Shrinking and enlarging crops: the same as F.interpolate(bilinear, antialias) of the
        crop, the resize the reference loops use."""
        g = torch.Generator().manual_seed(2)
        img = torch.rand(1, 3, 40, 56, generator=g)
        S = 24
        cuts = torch.tensor([[0., 0., 40., 0.], [10., 3., 31., 1.], [50., 30., 6., 0.],
                             [7., 9., 24., 1.], [20., 1., 17., 0.]])
        out = make_cutouts(img, cuts, S)
        for k, (x0, y0, size, flip) in enumerate(cuts.tolist()):
            x0, y0, size = int(x0), int(y0), int(size)
            ref = F.interpolate(img[:, :, y0:y0 + size, x0:x0 + size], size=(S, S),
                                mode="bilinear", align_corners=False, antialias=True)
            ref = ref.flip(-1) if flip else ref
            torch.testing.assert_close(out[k:k + 1], ref, rtol=0, atol=1e-5)


if __name__ == "__main__":
    unittest.main()
