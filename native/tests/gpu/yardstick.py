"""Yardstick for laa_gpu_check's timings: torchvision's EfficientNet-B4 (the
LAA-Net backbone without the E-FPN and heads) timed the same way in Python.

  python3 yardstick.py time --out py.jsonl [--device cuda] [--batches 1,8,32]
  python3 yardstick.py compare cpp.jsonl py.jsonl   # side-by-side table

Not a dependency of the package: a measurement tool for the GPU check.
"""
import argparse
import json
import sys
import time


def timed(fn, warm, iters, sync):
    for _ in range(warm):
        fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    sync()
    return (time.perf_counter() - t0) * 1000.0 / iters


def run_times(args):
    import torch
    import torchvision

    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    out = open(args.out, 'w')

    def emit(rec):
        out.write(json.dumps(rec) + '\n')
        out.flush()
        if rec['kind'] == 'time':
            print(f"  b4 {rec['what']:<12} {rec['dtype']:<14} batch {rec['batch']:>3}  {rec['ms']:9.3f} ms"
                  f"  {1000.0 * rec['batch'] / rec['ms']:8.1f} img/s")

    env = {'kind': 'env', 'torch': torch.__version__, 'torchvision': torchvision.__version__,
           'cuda': torch.version.cuda, 'cudnn': torch.backends.cudnn.version() if dev.type == 'cuda' else None,
           'device': torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'}
    print('yardstick env', env)
    emit(env)
    # Same defaults as laa_gpu_check: cuDNN heuristics (no benchmark mode), no TF32 unless a row says so.
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    batches = [int(b) for b in args.batches.split(',')]
    dtypes = [('float32', torch.float32, False), ('float32+tf32', torch.float32, True),
              ('bfloat16', torch.bfloat16, False), ('float16', torch.float16, False)]
    for name, dtype, tf32 in dtypes:
        if dev.type == 'cpu' and dtype != torch.float32:
            continue
        torch.backends.cudnn.allow_tf32 = tf32
        model = torchvision.models.efficientnet_b4(weights=None).eval().to(dev, dtype)
        model = model.to(memory_format=torch.channels_last)
        for b in batches:
            x = (torch.rand(b, 3, 384, 384, device=dev) * 2 - 1).to(dtype).contiguous(memory_format=torch.channels_last)
            iters = max(1, args.iters // 2) if b >= 32 else args.iters
            with torch.inference_mode():
                ms = timed(lambda: model(x), 3, iters, sync)
            emit({'kind': 'time', 'impl': 'b4', 'what': 'forward', 'dtype': name, 'batch': b, 'ms': ms})
        del model
    torch.backends.cudnn.allow_tf32 = False

    # Training step: train mode, forward + backward of the output sum, batch 16.
    model = torchvision.models.efficientnet_b4(weights=None).train().to(dev)
    bt = args.train_batch
    x = torch.rand(bt, 3, 384, 384, device=dev) * 2 - 1

    def step():
        model.zero_grad(set_to_none=False)
        model(x).float().sum().backward()

    emit({'kind': 'time', 'impl': 'b4', 'what': 'train step', 'dtype': 'float32', 'batch': bt,
          'ms': timed(step, 2, args.train_iters, sync)})
    if dev.type == 'cuda':
        def autocast_step():
            with torch.autocast('cuda', dtype=torch.bfloat16):
                step()

        emit({'kind': 'time', 'impl': 'b4', 'what': 'train step', 'dtype': 'bf16-autocast', 'batch': bt,
              'ms': timed(autocast_step, 2, args.train_iters, sync)})
        emit({'kind': 'mem', 'peak_gib': torch.cuda.max_memory_allocated() / 2**30})


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def compare(args):
    cpp = [r for r in load(args.cpp) if r.get('kind') == 'time']
    py = {(r['what'], r['dtype'], r['batch']): r['ms'] for r in load(args.py) if r.get('kind') == 'time'}
    print('laa = LAA-Net (B4 + E-FPN + heads) in laa_gpu_check; b4 = torchvision efficientnet_b4 in Python;')
    print('ratio = laa ms / b4 ms (the LAA-Net does more work than B4 alone: E-FPN and three heads at 96x96)')
    print(f"{'laa measurement':<26}{'dtype':<15}{'batch':>5}{'laa ms':>10}{'laa img/s':>11}{'b4 ms':>10}{'ratio':>8}")
    for r in cpp:
        key = ('train step', r['dtype'], r['batch']) if r['what'] == 'train step' else ('forward', r['dtype'], r['batch'])
        b4 = py.get(key)
        ratio = f"{r['ms'] / b4:8.2f}" if b4 else f"{'-':>8}"
        b4s = f"{b4:10.3f}" if b4 else f"{'-':>10}"
        print(f"{r['what']:<26}{r['dtype']:<15}{r['batch']:>5}{r['ms']:10.3f}{1000.0 * r['batch'] / r['ms']:11.1f}{b4s}{ratio}")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    t = sub.add_parser('time')
    t.add_argument('--out', required=True)
    t.add_argument('--device', default='cuda')
    t.add_argument('--batches', default='1,8,32')
    t.add_argument('--iters', type=int, default=20)
    t.add_argument('--train-batch', type=int, default=16)
    t.add_argument('--train-iters', type=int, default=8)
    c = sub.add_parser('compare')
    c.add_argument('cpp')
    c.add_argument('py')
    args = p.parse_args()
    run_times(args) if args.cmd == 'time' else compare(args)


if __name__ == '__main__':
    sys.exit(main())
