"""The real-model exporter, end to end on random weights with the public names and shapes.

Writes synthetic checkpoints in the public formats (taming last.ckpt + model.yaml, OpenAI's
TorchScript ViT-B-32.pt), exports a bundle with export_real, and checks every graph against an
independent PyTorch reference written here from the original architectures: a functional taming
decoder (F.interpolate upsampling, F.group_norm), openai/CLIP's layout with nn.MultiheadAttention
in sequence-first order, crops resized by F.interpolate(bilinear, antialias) and nerdyrodent's
ReplaceGrad loss. The step graph's loss and dloss/dz must match torch.autograd within 1e-3
relative at several image sizes from the ONE exported graph.

Run from the repository's parent folder (the PyTorch environment only sees the folder it is
started in, and the test data lives in ../shared):
    cd .. && shared/tools/pytorch-env run nice -n 10 python3 -m unittest discover -s main/models/tests -p 'test_real_export.py' -v
(`main` being the repository's folder name.)
Environment: TESSERA_REAL_SMALL=1 uses small configs of the same structure (minutes less);
TESSERA_REAL_SIZES="256x256,384x224" picks the step sizes (WxH); TESSERA_REAL_CUTN (default 2);
TESSERA_REAL_CONV_GRAD=conv exports with export_real --conv-grad conv.
"""
import os
import shutil
import sys
import tempfile
import time
import unittest
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from tessera_models import export_real as er  # noqa: E402
from tessera_models import synthetic_checkpoints as sc  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.environ.get("TESSERA_SHARED_DIR", os.path.join(REPO, "..", "shared"))
VOCAB = os.path.join(SHARED, "data", "clip", "bpe_simple_vocab_16e6.txt.gz")
SMALL = os.environ.get("TESSERA_REAL_SMALL") == "1"
SIZES = [tuple(int(v) for v in s.split("x")) for s in
         os.environ.get("TESSERA_REAL_SIZES", "256x256,384x224").split(",")]
CUTN = int(os.environ.get("TESSERA_REAL_CUTN", "2"))
CONV_GRAD = os.environ.get("TESSERA_REAL_CONV_GRAD", "transpose")
WORK = os.path.join(REPO, "models", ".work")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Independent reference
# ---------------------------------------------------------------------------------------------

def ref_decode(sd, cfg, zq):
    """taming Decoder(post_quant_conv(zq)), functional, from the state dict."""
    def conv(x, name, pad=1):
        return F.conv2d(x, sd[name + ".weight"], sd[name + ".bias"], padding=pad)

    def norm(x, name):
        return F.group_norm(x, 32, sd[name + ".weight"], sd[name + ".bias"], eps=1e-6)

    def swish(x):
        return x * torch.sigmoid(x)

    def resblock(x, p):
        h = conv(swish(norm(x, p + ".norm1")), p + ".conv1")
        h = conv(swish(norm(h, p + ".norm2")), p + ".conv2")
        if p + ".nin_shortcut.weight" in sd:
            x = conv(x, p + ".nin_shortcut", 0)
        return x + h

    def attn(x, p):
        b, c, h, w = x.shape
        y = norm(x, p + ".norm")
        q = conv(y, p + ".q", 0).reshape(b, c, h * w).permute(0, 2, 1)
        k = conv(y, p + ".k", 0).reshape(b, c, h * w)
        v = conv(y, p + ".v", 0).reshape(b, c, h * w)
        w_ = F.softmax(torch.bmm(q, k) * int(c) ** -0.5, dim=2)
        out = torch.bmm(v, w_.permute(0, 2, 1)).reshape(b, c, h, w)
        return x + conv(out, p + ".proj_out", 0)

    h = conv(zq, "post_quant_conv", 0)
    h = conv(h, "decoder.conv_in")
    h = resblock(h, "decoder.mid.block_1")
    h = attn(h, "decoder.mid.attn_1")
    h = resblock(h, "decoder.mid.block_2")
    for lvl in reversed(range(len(cfg.ch_mult))):
        for i in range(cfg.num_res_blocks + 1):
            h = resblock(h, f"decoder.up.{lvl}.block.{i}")
            if f"decoder.up.{lvl}.attn.{i}.q.weight" in sd:
                h = attn(h, f"decoder.up.{lvl}.attn.{i}")
        if lvl != 0:
            h = conv(F.interpolate(h, scale_factor=2.0, mode="nearest"),
                     f"decoder.up.{lvl}.upsample.conv")
    return conv(swish(norm(h, "decoder.norm_out")), "decoder.conv_out")


def ref_quantize(emb, z):
    """VectorQuantizer2.forward's value and straight-through gradient."""
    zt = z.permute(0, 2, 3, 1)
    flat = zt.reshape(-1, emb.shape[1])
    d = (flat ** 2).sum(1, keepdim=True) + (emb ** 2).sum(1) - 2 * torch.einsum(
        "bd,dn->bn", flat, emb.t())
    zq = emb[d.argmin(1)].view(zt.shape)
    zq = zt + (zq - zt).detach()
    return zq.permute(0, 3, 1, 2)


class RefBlock(nn.Module):
    def __init__(self, d, heads, mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(d, 4 * d)), ("gelu", QuickGELU()),
                                              ("c_proj", nn.Linear(4 * d, d))]))
        self.ln_2 = nn.LayerNorm(d)
        self.mask = mask

    def forward(self, x):
        m = self.mask
        x = x + self.attn(self.ln_1(x), self.ln_1(x), self.ln_1(x), need_weights=False,
                          attn_mask=m)[0]
        return x + self.mlp(self.ln_2(x))


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class RefTransformer(nn.Module):
    def __init__(self, d, layers, heads, mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[RefBlock(d, heads, mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class RefVisual(nn.Module):
    def __init__(self, res, patch, width, layers, out):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros((res // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = RefTransformer(width, layers, width // 64)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.zeros(width, out))

    def forward(self, x):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        x = torch.cat([self.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1]), x], 1)
        x = self.ln_pre(x + self.positional_embedding).permute(1, 0, 2)      # LND
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class RefCLIP(nn.Module):
    """openai/CLIP's ViT CLIP layout (sequence-first nn.MultiheadAttention)."""

    def __init__(self, c):
        super().__init__()
        self.visual = RefVisual(c.image_resolution, c.vision_patch_size, c.vision_width,
                                c.vision_layers, c.embed_dim)
        mask = torch.full((c.context_length, c.context_length), float("-inf")).triu_(1)
        self.transformer = RefTransformer(c.transformer_width, c.transformer_layers,
                                          c.transformer_heads, mask)
        self.token_embedding = nn.Embedding(c.vocab_size, c.transformer_width)
        self.positional_embedding = nn.Parameter(torch.zeros(c.context_length,
                                                             c.transformer_width))
        self.ln_final = nn.LayerNorm(c.transformer_width)
        self.text_projection = nn.Parameter(torch.zeros(c.transformer_width, c.embed_dim))
        self.logit_scale = nn.Parameter(torch.ones([]))

    def encode_image(self, pixels01):
        mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
        std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
        return F.normalize(self.visual((pixels01 - mean) / std), dim=-1)

    def encode_text(self, text):
        x = (self.token_embedding(text) + self.positional_embedding).permute(1, 0, 2)
        x = self.ln_final(self.transformer(x).permute(1, 0, 2))
        x = x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection
        return F.normalize(x, dim=-1)


class ReplaceGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_forward, x_backward):
        ctx.shape = x_backward.shape
        return x_forward

    @staticmethod
    def backward(ctx, grad_in):
        return None, grad_in.sum_to_size(ctx.shape)


def ref_cutouts(img, cuts, S):
    out = []
    for x0, y0, size, flip in cuts.tolist():
        x0, y0, size = int(x0), int(y0), int(size)
        crop = img[:, :, y0:y0 + size, x0:x0 + size]
        c = F.interpolate(crop, size=(S, S), mode="bilinear", align_corners=False,
                          antialias=True)
        out.append(c.flip(-1) if flip else c)
    return torch.cat(out)


def ref_step(sd, vq_cfg, clip_ref, z, targets, weights, stops, cuts):
    """loss and image of one step (BUNDLE.md), written independently of tessera_models."""
    zq = ref_quantize(sd["quantize.embedding.weight"], z)
    img = ((ref_decode(sd, vq_cfg, zq) + 1) / 2).clamp(0, 1)
    e = clip_ref.encode_image(ref_cutouts(img, cuts, clip_ref.visual.conv1.kernel_size[0] *
                                          round((clip_ref.visual.positional_embedding.shape[0]
                                                 - 1) ** 0.5)))
    loss = 0
    for t, w, s in zip(targets, weights, stops):
        d = (e - t).norm(dim=-1).div(2).arcsin().pow(2).mul(2)
        d = ReplaceGrad.apply(d, torch.maximum(d, s))
        loss = loss + w.abs() * (d * w.sign()).mean()
    return loss, img


# ---------------------------------------------------------------------------------------------

def step_inputs(vq_sd, W, H, n, p, downsample, embed_dim, seed):
    g = torch.Generator().manual_seed(seed)
    emb = vq_sd["quantize.embedding.weight"]
    h, w = H // downsample, W // downsample
    z = emb[torch.randint(0, emb.shape[0], (h * w,), generator=g)].t().reshape(1, -1, h, w)
    z = (z + 0.05 * torch.randn(z.shape, generator=g)).contiguous()
    targets = F.normalize(torch.randn(p, embed_dim, generator=g), dim=-1)
    weights = torch.tensor([1.0, -0.4, 0.7][:p])
    stops = torch.tensor([-1.0, -1.0, 1.2][:p])
    side = min(W, H)
    size = torch.randint(side // 2, side + 1, (n,), generator=g).float()
    x0 = (torch.rand(n, generator=g) * (W - size + 1)).floor()
    y0 = (torch.rand(n, generator=g) * (H - size + 1)).floor()
    flip = torch.tensor([float(i % 2) for i in range(n)])
    return z, targets, weights, stops, torch.stack([x0, y0, size, flip], 1)


@unittest.skipUnless(os.path.isfile(VOCAB), f"CLIP vocabulary not found at {VOCAB} "
                     "(set TESSERA_SHARED_DIR or run from the repository's parent folder)")
class RealExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import onnxruntime as ort
        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
        os.makedirs(WORK, exist_ok=True)
        cls.tmp = tempfile.mkdtemp(prefix="real-export-", dir=WORK)
        vq_cfg = sc.SMALL_VQGAN if SMALL else sc.IMAGENET_F16_16384
        clip_cfg = sc.SMALL_CLIP if SMALL else sc.VIT_B_32
        t = time.time()
        ckpt, yml = sc.write_vqgan_checkpoint(os.path.join(cls.tmp, "vqgan"), vq_cfg, seed=1)
        clip_pt = sc.write_clip_checkpoint(os.path.join(cls.tmp, "ViT-B-32.pt"), clip_cfg, seed=2)
        log(f"\nsynthetic checkpoints written in {time.time() - t:.0f}s "
            f"({os.path.getsize(ckpt) / 2**20:.0f} + {os.path.getsize(clip_pt) / 2**20:.0f} MiB)")
        t = time.time()
        cls.vq = er.load_vqgan(ckpt, yml)
        cls.clip = er.load_clip(clip_pt)
        cls.bundle = os.path.join(cls.tmp, "bundle")
        cls.manifest = er.export_bundle(cls.vq, cls.clip, cls.bundle, VOCAB, "test-real",
                                        progress=er.Progress(100), work_dir=cls.tmp,
                                        conv_grad=CONV_GRAD)
        cls.export_s = time.time() - t
        sizes = {f: os.path.getsize(os.path.join(cls.bundle, f)) for f in os.listdir(cls.bundle)}
        log(f"export took {cls.export_s:.0f}s; bundle files (MiB): " + ", ".join(
            f"{f} {b / 2**20:.1f}" for f, b in sorted(sizes.items())))
        # the reference loads the checkpoint tensors independently of tessera_models
        cls.vq_sd = {k: v.float() for k, v in
                     torch.load(ckpt, map_location="cpu")["state_dict"].items()}
        cls.vq_cfg = vq_cfg
        cls.clip_ref = RefCLIP(clip_cfg).eval()
        csd = {k: v.float() for k, v in torch.jit.load(clip_pt).state_dict().items()
               if k not in ("input_resolution", "context_length", "vocab_size")}
        cls.clip_ref.load_state_dict(csd)
        for p in cls.clip_ref.parameters():
            p.requires_grad_(False)
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2

        def session(name):
            return ort.InferenceSession(os.path.join(cls.bundle, f"{name}.onnx"), so,
                                        providers=["CPUExecutionProvider"])
        cls.session = staticmethod(session)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_step_matches_autograd_at_several_sizes(self):
        sess = self.session("step")
        self.assertEqual([i.name for i in sess.get_inputs()], er.STEP_INPUTS)
        for k, (W, H) in enumerate(SIZES):
            p = 3 if k % 2 else 2
            x = step_inputs(self.vq_sd, W, H, CUTN, p, self.vq_cfg.downsample,
                            self.clip.cfg.embed_dim, seed=10 + k)
            t = time.time()
            loss, grad, image = sess.run(None, {n: v.numpy() for n, v in zip(er.STEP_INPUTS, x)})
            t_ort = time.time() - t
            t = time.time()
            z = x[0].clone().requires_grad_(True)
            loss_ref, img_ref = ref_step(self.vq_sd, self.vq_cfg, self.clip_ref, z, *x[1:])
            (grad_ref,) = torch.autograd.grad(loss_ref, z)
            t_ref = time.time() - t
            grad_ref, loss_ref = grad_ref.numpy(), float(loss_ref)
            self.assertEqual(image.shape, (1, 3, H, W))
            self.assertEqual(grad.shape, tuple(x[0].shape))
            clamped = float(((img_ref == 0) | (img_ref == 1)).float().mean())
            self.assertLess(clamped, 0.5, "random decoder saturates: the check would be weak")
            self.assertGreater(np.abs(grad_ref).max(), 0)
            rel_loss = abs(float(np.asarray(loss).reshape(-1)[0]) - loss_ref) / abs(loss_ref)
            rel_grad = np.abs(grad - grad_ref).max() / np.abs(grad_ref).max()
            rel_img = np.abs(image - img_ref.detach().numpy()).max()
            log(f"step {W}x{H} cutn {CUTN} prompts {p}: loss rel err {rel_loss:.1e}, grad max "
                f"rel err {rel_grad:.1e}, image max abs err {rel_img:.1e} "
                f"(onnxruntime {t_ort:.1f}s, torch {t_ref:.1f}s, {clamped:.0%} pixels clamped)")
            self.assertLess(rel_loss, 1e-3)
            self.assertLess(rel_grad, 1e-3)
            self.assertLess(rel_img, 1e-3)

    def test_decoder_encoder_codes(self):
        W, H = 192, 128
        f = self.vq_cfg.downsample
        x = step_inputs(self.vq_sd, W, H, 1, 1, f, self.clip.cfg.embed_dim, seed=3)
        z = x[0]
        (image,) = self.session("decoder").run(None, {"z": z.numpy()})
        with torch.no_grad():
            ref = ((ref_decode(self.vq_sd, self.vq_cfg,
                               ref_quantize(self.vq_sd["quantize.embedding.weight"], z)) + 1) / 2
                   ).clamp(0, 1).numpy()
            zenc = self.vq.encode(torch.from_numpy(image) * 2 - 1).numpy()
        self.assertEqual(image.shape, (1, 3, H, W))
        self.assertLess(np.abs(image - ref).max(), 1e-4)
        (zo,) = self.session("encoder").run(None, {"image": image})
        self.assertEqual(zo.shape, (1, self.vq_cfg.embed_dim, H // f, W // f))
        self.assertLess(np.abs(zo - zenc).max() / np.abs(zenc).max(), 1e-4)
        idx = torch.randint(0, self.vq_cfg.n_embed, (1, H // f, W // f))
        (zc,) = self.session("codes").run(None, {"indices": idx.numpy()})
        emb = self.vq_sd["quantize.embedding.weight"]
        np.testing.assert_array_equal(zc, emb[idx].permute(0, 3, 1, 2).numpy())

    def test_text_and_image_towers(self):
        tok = torch.zeros(3, 77, dtype=torch.long)
        for i, ids in enumerate([[320, 3086, 539, 550, 3055], [320, 2242, 267, 9200], [1125]]):
            seq = [49406] + ids + [49407]
            tok[i, :len(seq)] = torch.tensor(seq)
        (emb,) = self.session("text").run(None, {"tokens": tok.numpy()})
        pix = torch.rand(3, 3, 224, 224, generator=torch.Generator().manual_seed(5))
        (iemb,) = self.session("image").run(None, {"pixels": pix.numpy()})
        with torch.no_grad():
            ref_t = self.clip_ref.encode_text(tok).numpy()
            ref_i = self.clip_ref.encode_image(pix).numpy()
        self.assertLess(np.abs(emb - ref_t).max(), 1e-4)
        self.assertLess(np.abs(iemb - ref_i).max(), 1e-4)
        np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)

    def test_manifest_and_shared_weights(self):
        import onnx
        m = self.manifest
        self.assertEqual(m["v"], 1)
        self.assertEqual(m["tokenizer"], {"kind": "clip-bpe", "file": "bpe_simple_vocab_16e6.txt.gz",
                                          "contextLength": 77})
        self.assertEqual(m["latent"]["init"], {"kind": "codes",
                                               "numCodes": self.vq_cfg.n_embed, "graph": "codes"})
        self.assertEqual(m["latent"]["downsample"], 16)
        self.assertIn([512, 128], m["image"]["sizes"])
        self.assertEqual(len(m["image"]["sizes"]), 25 * 25)
        emb = self.vq_sd["quantize.embedding.weight"]
        np.testing.assert_allclose(m["latent"]["min"], emb.min(0).values.numpy(), rtol=1e-6)
        self.assertEqual(set(m["graphs"]), {"step", "decoder", "encoder", "text", "image",
                                            "codes"})
        for g in m["graphs"].values():
            self.assertEqual(er._sha256(os.path.join(self.bundle, g["file"])), g["sha256"])
        # every large tensor lives in weights.bin; the graphs themselves are small
        for g in m["graphs"].values():
            model = onnx.load(os.path.join(self.bundle, g["file"]), load_external_data=False)
            big_inline = [i.name for i in model.graph.initializer
                          if i.data_location != onnx.TensorProto.EXTERNAL and
                          len(i.raw_data) >= 1024]
            self.assertEqual(big_inline, [], g["file"])
        params = sum(v.numel() for v in self.vq.state_dict().values()) + \
            sum(v.numel() for v in self.clip.state_dict().values())
        # stored once: no more than the fp32 parameters plus a little (transposed copies)
        self.assertLess(m["weights"]["bytes"], 4 * params * 1.25)


if __name__ == "__main__":
    unittest.main()
