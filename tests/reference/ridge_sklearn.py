"""Reference values for tests/Functional.NN.Tests/LinearTests.fs (ridge on the commute data).

Run with the Debian python3 (python3-sklearn 1.2.1, python3-numpy 1.24.2):
    python3 tests/reference/ridge_sklearn.py

1. scikit-learn's Ridge(alpha, fit_intercept=True), which leaves the intercept unpenalised,
   for alpha = n * lambda with lambda = 0.1 and 1 (n = 5): the library's
   RidgeForm.InterceptUnpenalized form with those lambdas.
2. The notes' form (every weight penalised, intercept included), solved independently with
   numpy.linalg.solve on (X1^T X1 / n + lambda I) W = X1^T Y / n, X1 = [1 X], as a cross-check
   of the Cramer's-rule solve in the test.
3. Ordinary least squares by numpy.linalg.lstsq (an SVD solver), the notes' W*.
"""
import numpy as np
from sklearn.linear_model import Ridge

# commute.csv of the notes (ch. 1): distance_km, weekday -> commute_min
X = np.array([[2.7, 1], [4.1, 1], [1.0, 0], [5.2, 1], [2.8, 0]])
y = np.array([25.0, 33.0, 15.0, 45.0, 22.0])
n = X.shape[0]
X1 = np.hstack([np.ones((n, 1)), X])

for lam in (0.1, 1.0):
    m = Ridge(alpha=n * lam, fit_intercept=True, solver="cholesky").fit(X, y)
    print("sklearn Ridge alpha=%r (lambda=%r): intercept=%.15g coef=[%.15g, %.15g]"
          % (n * lam, lam, m.intercept_, m.coef_[0], m.coef_[1]))
    w = np.linalg.solve(X1.T @ X1 / n + lam * np.eye(3), X1.T @ y / n)
    print("notes form lambda=%r: W=[%.15g, %.15g, %.15g]" % (lam, w[0], w[1], w[2]))

w, *_ = np.linalg.lstsq(X1, y, rcond=None)
print("least squares W*=[%.15g, %.15g, %.15g]" % tuple(w))
