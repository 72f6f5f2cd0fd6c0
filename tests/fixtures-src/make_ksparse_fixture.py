#!/usr/bin/python3
"""Writes the k-sparse probing fixture with scikit-learn's answers.

    /usr/bin/python3 tests/fixtures-src/make_ksparse_fixture.py

Output: tests/SaeGuard.Tests/Fixtures/eval/ksparse.json (committed). 150 documents of 40
non-negative "pooled SAE codes" (float32) with the class signal planted in a few latents, a
stratified train/test mask, and for k in {1, 2, 5, 10, 20}: the latents ranked by
|mean(harmful) - mean(benign)| on the training rows, and the test AUROC of
sklearn.linear_model.LogisticRegression(C=1, L2, lbfgs) fitted on the top-k latents.
"""
import json
import os

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "SaeGuard.Tests", "Fixtures", "eval")
os.makedirs(ROOT, exist_ok=True)

rng = np.random.default_rng(15)
n, m = 150, 40
y = (rng.random(n) < 0.45).astype(int)
x = rng.gamma(1.0, 1.0, size=(n, m)) * (rng.random((n, m)) < 0.4)
signal = [3, 17, 8, 30, 22]
for rank, j in enumerate(signal):
    x[:, j] += y * (1.2 / (rank + 1)) * rng.gamma(2.0, 0.5, size=n)
x = x.astype(np.float32)

train = np.ones(n, dtype=bool)
for label in (0, 1):
    idx = np.flatnonzero(y == label)
    rng.shuffle(idx)
    train[idx[: int(round(0.3 * len(idx)))]] = False

xd = x.astype(np.float64)
diff = np.abs(xd[train & (y == 1)].mean(axis=0) - xd[train & (y == 0)].mean(axis=0))
ranking = sorted(range(m), key=lambda j: (-diff[j], j))
ks = [1, 2, 5, 10, 20]
aurocs = []
for k in ks:
    top = ranking[:k]
    clf = LogisticRegression(C=1.0, penalty="l2", solver="lbfgs", tol=1e-12, max_iter=100000)
    clf.fit(xd[train][:, top], y[train])
    aurocs.append(float(roc_auc_score(y[~train], clf.decision_function(xd[~train][:, top]))))

json.dump({
    "x": [[float(v) for v in row] for row in x],
    "y": [int(v) for v in y],
    "train": [bool(v) for v in train],
    "k": ks,
    "ranking": [int(j) for j in ranking],
    "auroc": aurocs,
    "sklearn": __import__("sklearn").__version__,
}, open(os.path.join(ROOT, "ksparse.json"), "w"))
print(ks, aurocs)
