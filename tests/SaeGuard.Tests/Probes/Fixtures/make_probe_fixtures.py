#!/usr/bin/python3
"""Makes probe_sklearn.json: synthetic data sets with scikit-learn's logistic-regression fits and
metric values, for SaeGuard.Tests.Probes. Not part of the product.
Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 make_probe_fixtures.py
"""
import json
import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, average_precision_score

rng = np.random.default_rng(1234)


def fit(X, y, penalty, C):
    if penalty == "l2":
        # newton-cg: lbfgs stops on scipy's default relative-decrease test (~1e-9), too loose for a fixture.
        clf = LogisticRegression(penalty="l2", C=C, solver="newton-cg", tol=1e-8, max_iter=100000)
    else:
        clf = LogisticRegression(penalty="l1", C=C, solver="saga", tol=1e-13, max_iter=1000000)
    clf.fit(X, y)
    p = clf.predict_proba(X)[:, 1]
    return {"penalty": penalty, "c": C, "coef": clf.coef_[0].tolist(), "intercept": float(clf.intercept_[0]),
            "auroc": float(roc_auc_score(y, p))}


cases = []
# Separable: a margin around a known hyperplane.
X = rng.normal(size=(120, 5))
s = X @ np.array([2.0, -1.0, 0.5, 0.0, 0.0]) + 0.3
keep = np.abs(s) > 0.4
X, s = X[keep], s[keep]
y = (s > 0).astype(int)
cases.append({"name": "separable", "x": X.round(6).tolist(), "y": y.tolist()})
# Noisy: Bernoulli labels from a logistic model, features of different scales.
X = rng.normal(size=(300, 8)) * np.array([1, 1, 2, 0.5, 1, 3, 1, 1])
logit = X @ np.array([1.2, -0.8, 0.3, 0.0, 0.0, 0.1, 0.0, -0.5]) - 0.4
y = (rng.random(300) < 1 / (1 + np.exp(-logit))).astype(int)
cases.append({"name": "noisy", "x": X.round(6).tolist(), "y": y.tolist()})

for c in cases:
    X = np.array(c["x"]); y = np.array(c["y"])
    c["fits"] = [fit(X, y, "l2", 1.0), fit(X, y, "l2", 0.05)]
    if c["name"] == "noisy":
        c["fits"] += [fit(X, y, "l1", 0.02), fit(X, y, "l1", 0.2)]

# Metrics with many ties.
scores = rng.integers(0, 6, size=60) / 5.0
labels = (rng.random(60) < 0.3 + 0.5 * scores).astype(int)
metrics = {"scores": scores.tolist(), "labels": labels.tolist(),
           "auroc": float(roc_auc_score(labels, scores)),
           "auprc": float(average_precision_score(labels, scores))}

json.dump({"sklearn_version": sklearn.__version__, "cases": cases, "metrics": metrics},
          open("probe_sklearn.json", "w"), indent=1)
print("wrote probe_sklearn.json")
