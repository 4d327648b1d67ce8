"""Writes test/fixtures/metrics/sklearn.json: scikit-learn's metrics on a few
label/score sets (with ties), the reference for test/metrics.test.ts.
Run with /usr/bin/python3 (Debian's python3-sklearn); not needed to run the tests.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.metrics import accuracy_score, auc, average_precision_score, recall_score, roc_curve

rng = np.random.default_rng(317)
cases = [
    ("sklearn-doc", [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]),
    ("all-tied", [0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]),
    ("ties-across-classes", [0, 0, 1, 1, 1, 0, 1], [0.2, 0.6, 0.6, 0.6, 0.9, 0.9, 0.1]),
    ("perfect", [0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.8]),
    ("inverted", [1, 1, 0, 0], [0.1, 0.2, 0.7, 0.8]),
    ("all-predicted-fake", [0, 1, 1, 1], [0.6, 0.7, 0.8, 0.9]),
]
# Random sets; scores rounded to 2 decimals so many of them tie.
for n in (50, 500):
    y = rng.integers(0, 2, n)
    s = np.round(np.clip(rng.normal(0.45 + 0.15 * y, 0.2), 0, 1), 2)
    cases.append((f"random-{n}-rounded", y.tolist(), s.tolist()))
y = rng.integers(0, 2, 300)
cases.append(("random-300-continuous", y.tolist(), rng.random(300).tolist()))

out = []
for name, y, s in cases:
    y, s = np.asarray(y), np.asarray(s, dtype=np.float64)
    fpr, tpr, thr = roc_curve(y, s, pos_label=1, drop_intermediate=False)
    ap = average_precision_score(y, s)
    ar = recall_score(y, s >= 0.5, average="macro")
    out.append({
        "name": name,
        "labels": y.tolist(),
        "scores": s.tolist(),
        "fpr": fpr.tolist(),
        "tpr": tpr.tolist(),
        # sklearn < 1.3 puts max + 1 first; newer versions put inf. Drop it.
        "thresholds": thr[1:].tolist(),
        "auc": auc(fpr, tpr),
        "ap": ap,
        "accuracy": accuracy_score(y, s >= 0.5),
        "macroRecall": ar,
        "mf1": 2 * ap * ar / (ap + ar),
    })

path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "metrics", "sklearn.json")
with open(path, "w") as f:
    json.dump({"sklearn": sklearn.__version__, "numpy": np.__version__, "cases": out}, f, indent=1)
    f.write("\n")
print("wrote", path, len(out), "cases")
