#!/usr/bin/env python3
"""Training yardstick: one forward + backward of torchvision's EfficientNet-B4
(random weights, train mode, channels_last, float32) per image on this CPU.

  /usr/bin/python3 bench/train_yardstick.py --threads 2 --batch 16 --size 384
Prints one JSON line: {"torch", "threads", "batch", "size", "msPerImage", "msPerStep"}.
"""
import argparse
import json
import statistics
import time

import torch
import torchvision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--iters", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = torchvision.models.efficientnet_b4(weights=None).train().to(memory_format=torch.channels_last)
    x = torch.randn(a.batch, 3, a.size, a.size).clamp_(-1, 1).to(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (a.batch,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        model.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()

    step()  # warm-up
    ts = []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        step()
        ts.append((time.perf_counter() - t0) * 1e3)
    ms = statistics.median(ts)
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "batch": a.batch, "size": a.size,
                      "msPerStep": ms, "msPerImage": ms / a.batch}))


if __name__ == "__main__":
    main()
