#!/usr/bin/python3
"""Writes the .pth fixtures for the native checkpoint reader.

Run with Debian's interpreter, which has torch 1.13 (python3-torch):
    /usr/bin/python3 test/support/make_pth_fixtures.py OUT_DIR

Files (all small):
  tiny.pth             official-shaped checkpoint {'epoch', 'state_dict', 'optimizer'}
  tiny.json            what a reader must find in tiny.pth: epoch, has_optimizer and per
                       tensor key (without 'module.'), dtype, shape, sum and
                       wsum = sum(flat[i] * i), which catches stride mix-ups
  bare_state_dict.pth  the same state_dict saved on its own
  legacy.pth           the same state_dict in the legacy (non-zip) format
  evil_os_system.pth   valid container whose pickle REDUCEs os.system
  truncated.pth        tiny.pth cut in half
  not_a_zip.pth        random bytes
  garbage_pickle.pth   tiny.pth's records with a truncated data.pkl
  tiny_protocol4.pth   tiny.pth's content pickled with protocol 4 (FRAME,
                       MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE); matches tiny.json
Values are small multiples of 1/8 so that sums are exact in float64. The
state_dict has a transposed parameter, two buffers sharing one storage (one at
an offset) and an int64 num_batches_tracked scalar.
"""
import json
import os
import random
import sys
import zipfile
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        # A parameter stored as a transposed (non-contiguous) view.
        self.proj = nn.Parameter(torch.zeros(3, 4, dtype=torch.float64).t())
        # Two buffers sharing one storage, the second at an offset.
        whole = torch.arange(20, dtype=torch.float64) / 8 - 1
        self.register_buffer("head", whole[0:5])
        self.register_buffer("tail", whole[5:11].view(2, 3))


class Wrap(nn.Module):
    """Gives every key the 'module.' prefix, as nn.DataParallel does."""

    def __init__(self, inner):
        super().__init__()
        self.module = inner


def build_model():
    return Wrap(Net()).double()


def fill(model):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            n = p.numel()
            p.copy_((torch.arange(n, dtype=torch.float64).reshape(p.shape) - 2 * i) / 8)
        model.module.proj.copy_(torch.arange(12, dtype=torch.float64).reshape(3, 4).t() / 4)
        model.module.bn.running_mean.copy_(torch.tensor([0.5, -0.25], dtype=torch.float64))
        model.module.bn.num_batches_tracked.fill_(7)
    assert not model.module.proj.is_contiguous()


def sam_like_optimizer_state(model):
    # A real Adam step, then dressed up like the SAM state_dict of LAA-Net.
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    x = torch.ones(1, 3, 5, 5, dtype=torch.float64)
    loss = model.module.conv(x).sum() + model.module.proj.sum()
    loss.backward()
    opt.step()
    sd = opt.state_dict()
    for group in sd["param_groups"]:
        group["rho"] = 0.05
        group["initial_lr"] = group["lr"]
    for idx in list(sd["state"]):
        sd["state"][idx]["e_w"] = torch.ones(1, dtype=torch.float64)
    return {"state": sd["state"], "param_groups": sd["param_groups"]}


def expected(state_dict):
    tensors = []
    for key, t in state_dict.items():
        flat = t.reshape(-1).to(torch.float64)
        weights = torch.arange(flat.numel(), dtype=torch.float64)
        tensors.append({
            "key": key[len("module."):] if key.startswith("module.") else key,
            "dtype": str(t.dtype).replace("torch.", ""),
            "shape": list(t.shape),
            "sum": flat.sum().item(),
            "wsum": (flat * weights).sum().item(),  # order-sensitive: catches stride mix-ups
        })
    return tensors


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/laa_pwned",))


def repack_with_pickle(src, dst, pickle_bytes):
    """Copies src's records (same names, same order, stored) with another data.pkl."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith("/data.pkl"):
                data = pickle_bytes
            zout.writestr(info.filename, data)


def read_data_pkl(path):
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        return z.read(name)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    p = lambda name: os.path.join(out_dir, name)
    model = build_model()
    optimizer = sam_like_optimizer_state(model)
    fill(model)  # after the step, so that the saved values stay exact
    state_dict = model.state_dict()
    assert not state_dict["module.proj"].is_contiguous()

    checkpoint = {"epoch": 3, "state_dict": state_dict, "optimizer": optimizer}
    torch.save(checkpoint, p("tiny.pth"))
    torch.save(checkpoint, p("tiny_protocol4.pth"), pickle_protocol=4)
    with open(p("tiny.json"), "w") as f:
        json.dump({"epoch": 3, "has_optimizer": True, "tensors": expected(state_dict)}, f, indent=1)

    torch.save(state_dict, p("bare_state_dict.pth"))
    torch.save(state_dict, p("legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({"epoch": 1, "state_dict": Evil()}, p("evil_os_system.pth"))

    with open(p("tiny.pth"), "rb") as f:
        whole = f.read()
    with open(p("truncated.pth"), "wb") as f:
        f.write(whole[: len(whole) // 2])
    with open(p("not_a_zip.pth"), "wb") as f:
        f.write(random.Random(1234).randbytes(4096))
    pkl = read_data_pkl(p("tiny.pth"))
    repack_with_pickle(p("tiny.pth"), p("garbage_pickle.pth"), pkl[: len(pkl) // 3])

    for name in sorted(os.listdir(out_dir)):
        assert os.path.getsize(p(name)) < 100_000, name


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: /usr/bin/python3 make_pth_fixtures.py OUT_DIR")
    main(sys.argv[1])
