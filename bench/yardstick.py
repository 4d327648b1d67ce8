#!/usr/bin/env python3
"""Yardstick: torchvision EfficientNet-B4 (random weights) CPU inference speed.

Run with Debian's torch:  /usr/bin/python3 bench/yardstick.py --threads 2 --batches 1,8
Prints one JSON line: {"torch", "threads", "dtype", "results": [{"batch", "msPerFrame", "msPerBatch"}]}.
fp32 runs eval + channels_last under torch.inference_mode(). For --dtype bfloat16 both
variants (autocast vs. model/input cast) are timed and the faster one is reported ("mode").
"""
import argparse
import json
import statistics
import time

import torch
import torchvision


def time_model(fn, x, iters, warmup):
    with torch.inference_mode():
        for _ in range(warmup):
            fn(x)
        ts = []
        for _ in range(iters):
            t0 = time.perf_counter()
            fn(x)
            ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = torchvision.models.efficientnet_b4(weights=None).eval()
    model = model.to(memory_format=torch.channels_last)

    def make_input(b, dtype=torch.float32):
        x = torch.randn(b, 3, a.size, a.size).clamp_(-1, 1)
        return x.to(dtype=dtype, memory_format=torch.channels_last)

    results = []
    mode = None
    for b in [int(s) for s in a.batches.split(",")]:
        if a.dtype == "float32":
            ms = time_model(model, make_input(b), a.iters, a.warmup)
        else:
            def autocast_fn(x):
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return model(x)
            if not hasattr(main, "m16"):
                main.m16 = torchvision.models.efficientnet_b4(weights=None).eval()
                main.m16.load_state_dict(model.state_dict())
                main.m16 = main.m16.to(dtype=torch.bfloat16, memory_format=torch.channels_last)
            cands = {
                "autocast": time_model(autocast_fn, make_input(b), a.iters, a.warmup),
                "cast": time_model(main.m16, make_input(b, torch.bfloat16), a.iters, a.warmup),
            }
            mode = min(cands, key=cands.get)
            ms = cands[mode]
        results.append({"batch": b, "msPerFrame": round(ms / b, 2), "msPerBatch": round(ms, 2),
                        **({"mode": mode, "candidates": {k: round(v / b, 2) for k, v in cands.items()}}
                           if a.dtype == "bfloat16" else {})})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "dtype": a.dtype, "results": results}))


if __name__ == "__main__":
    main()
