"""One logistic-regression head per label, shared by the lexical and encoder stages."""

from __future__ import annotations

from typing import Any

import numpy as np


def fit_heads(X: Any, y: np.ndarray, **logistic: Any) -> tuple[np.ndarray, np.ndarray]:
    """Fit a balanced logistic head per column of ``y`` (1, 0, or -1 = unknown).

    Rows whose label is unknown are left out of that head, so a data set that
    annotates one label only (COLD: ``offensive``) trains that head alone.  A
    label seen with one class only gets a constant head.  ``logistic`` goes to
    scikit-learn's ``LogisticRegression``.

    Returns
    -------
    coef, intercept
        ``(L, n_features)`` and ``(L,)`` float32.
    """
    from sklearn.linear_model import LogisticRegression

    n_labels = y.shape[1]
    coef = np.zeros((n_labels, X.shape[1]), dtype=np.float32)
    intercept = np.zeros(n_labels, dtype=np.float32)
    for j in range(n_labels):
        known = y[:, j] >= 0
        yj = y[known, j]
        if yj.min(initial=1) == yj.max(initial=0):
            intercept[j] = -10.0 if yj.max(initial=0) == 0 else 10.0
            continue
        clf = LogisticRegression(class_weight="balanced", **logistic)
        clf.fit(X[known], yj)
        coef[j] = clf.coef_[0]
        intercept[j] = clf.intercept_[0]
    return coef, intercept
