#!/usr/bin/python3
"""Writes an official-format LAA-Net checkpoint from a float64 safetensors file.

    /usr/bin/python3 test/support/make_official_checkpoint.py IN.safetensors OUT.pth

The result is what the official code's save_model writes: torch.save of
{'epoch', 'state_dict', 'optimizer'} in the zip container, with the keys of a
DataParallel model ('module.' prefix), float64 tensors, and the Inception block
stored once and referenced by both `inception_block.*` and `deconv_4.0.*`
(one module registered twice shares its storages).
"""
import collections
import json
import struct
import sys

import numpy as np
import torch

DTYPES = {"F64": np.float64, "F32": np.float32, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header.pop("__metadata__", None)
    out = collections.OrderedDict()
    for name, t in header.items():
        begin, end = t["data_offsets"]
        arr = np.frombuffer(raw[8 + n + begin : 8 + n + end], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def main(src, dst):
    weights = read_safetensors(src)
    state_dict = collections.OrderedDict()
    for name, tensor in weights.items():
        if name.startswith("deconv_4.0."):
            tensor = state_dict["module.inception_block." + name[len("deconv_4.0.") :]]
        state_dict["module." + name] = tensor
    params = [t for n, t in state_dict.items() if not n.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    optimizer = {
        "state": {0: {"e_w": torch.zeros_like(params[0])}},
        "param_groups": [{
            "lr": 5e-5, "rho": 0.05, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-4,
            "amsgrad": False, "initial_lr": 5e-5, "params": list(range(461)),
        }],
    }
    torch.save({"epoch": 7, "state_dict": state_dict, "optimizer": optimizer}, dst)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
