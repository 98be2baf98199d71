#!/usr/bin/python3
"""Writes tests/fit/data/lasso_reference.json: scikit-learn Lasso solutions on a small fixed
data set, the reference tests/fit/lasso_test.cpp checks lj::FitLasso against.

Data: X 200 x 10 standard normal (numpy RandomState(20250428)), columns 0-2 scaled by 1, 3, 0.5
and column 9 = column 8 + small noise (a correlated pair, as polynomial terms are); y = X w_true
+ 2.5 + N(0, 0.5^2) with w_true sparse (3 of 10 non-zero, one negative).
Fits sklearn.linear_model.Lasso(alpha, fit_intercept, positive, tol=1e-12, max_iter=1e6) for
alphas 0.01, 0.1, 0.5, positive False and True, with intercept; and alpha 0.1, positive True,
without intercept. Objective (sklearn): (1/(2n))||y - Xw - b||^2 + alpha ||w||_1.

Run with Debian's python3-sklearn:  /usr/bin/python3 tools/sklearn_lasso_reference.py
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.linear_model import Lasso


def main():
    rng = np.random.RandomState(20250428)
    n, p = 200, 10
    x = rng.standard_normal((n, p))
    x[:, 1] *= 3.0
    x[:, 2] *= 0.5
    x[:, 9] = x[:, 8] + 0.1 * rng.standard_normal(n)
    w_true = np.zeros(p)
    w_true[0], w_true[3], w_true[8] = 1.5, -2.0, 0.8
    y = x @ w_true + 2.5 + 0.5 * rng.standard_normal(n)

    cases = []
    settings = [(a, pos, True) for a in (0.01, 0.1, 0.5) for pos in (False, True)]
    settings.append((0.1, True, False))
    for alpha, positive, fit_intercept in settings:
        model = Lasso(alpha=alpha, positive=positive, fit_intercept=fit_intercept, tol=1e-12,
                      max_iter=1000000, selection="cyclic")
        model.fit(x, y)
        cases.append({
            "alpha": alpha,
            "positive": positive,
            "fit_intercept": fit_intercept,
            "coef": model.coef_.tolist(),
            "intercept": float(model.intercept_),
            "predictions": model.predict(x).tolist(),
            "n_iter": int(model.n_iter_),
        })

    out = {
        "generator": "tools/sklearn_lasso_reference.py",
        "sklearn_version": sklearn.__version__,
        "objective": "(1/(2n))||y - Xw - b||^2 + alpha ||w||_1",
        "x": x.tolist(),
        "y": y.tolist(),
        "w_true": w_true.tolist(),
        "cases": cases,
    }
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "tests", "fit", "data", "lasso_reference.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f)
        f.write("\n")
    print(f"wrote {path}: {n} x {p}, {len(cases)} cases, sklearn {sklearn.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
