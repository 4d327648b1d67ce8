"""Converts a MediaPipe .tflite model to an ONNX file OpenCV 4.6's dnn module runs (scripts/make-face-models.sh).

tflite2onnx writes initializers and value_info in set order, so its raw output differs from run to run; they are
sorted by name here (the graph is unchanged), which makes the file byte-reproducible and its SHA-256 checkable.
Usage: python tflite_to_onnx.py IN.tflite OUT.onnx
"""
import hashlib
import os
import sys
import tempfile

import onnx
import tflite2onnx

src, dst = sys.argv[1], sys.argv[2]
fd, tmp = tempfile.mkstemp(suffix=".onnx")
os.close(fd)
try:
    tflite2onnx.convert(src, tmp)
    model = onnx.load(tmp)
finally:
    os.remove(tmp)
graph = model.graph
for field in (graph.initializer, graph.value_info):
    ordered = sorted(field, key=lambda t: t.name)
    copies = []
    for t in ordered:
        c = type(t)()
        c.CopyFrom(t)
        copies.append(c)
    del field[:]
    field.extend(copies)
onnx.checker.check_model(model)
onnx.save(model, dst)
data = open(dst, "rb").read()
print(f"{dst}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
