"""Permutation importance by scikit-learn, given the permutations the F# test uses.

Run with /usr/bin/python3 (Debian's python3-sklearn 1.2.1). Prints the baseline score and, per
column, the mean and standard deviation of the score drops; AttributionTests.fs copies these
numbers as its expected values.

scikit-learn draws its own shuffles; to give it ours, check_random_state in its module is replaced
by one that returns, per column, an object whose shuffle() writes the index array that makes
sklearn's cumulative in-place shuffling (X_permuted[:, c] = X_permuted[idx, c], repeated) give
column c in the order perm(c, r) at repeat r.
"""
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
import sklearn.inspection._permutation_importance as pi

N, D, REPEATS = 20, 4, 3
UNITS = [3, 7, 9, 11, 13, 17, 19]  # coprime with N = 20


def perm(c, r):
    """Row i takes row perm[i]'s value: i -> (a i + b) mod N."""
    a = UNITS[(3 * c + r) % len(UNITS)]
    b = (5 * c + 3 * r + 1) % N
    return np.array([(a * i + b) % N for i in range(N)])


X = np.array([[((7 * i + 13 * j + 3 * i * j) % 17) / 4.0 - 2.0 for j in range(D)] for i in range(N)])
W_REG = np.array([1.5, -2.0, 0.5, 0.0])
B_REG = 0.3
Y_REG = X @ W_REG + B_REG + np.array([((5 * i) % 7) / 7.0 - 0.5 for i in range(N)])
W_CLS = np.array([[1.0, -1.0, 0.0], [0.5, 0.5, -1.0], [0.0, 1.0, 1.0], [0.2, 0.0, -0.2]])
B_CLS = np.array([0.1, 0.0, -0.1])
W_TRUE = np.array([[1.0, -0.5, 0.0], [0.0, 0.5, -1.0], [0.5, 1.0, 1.0], [0.0, 0.0, 0.0]])
Y_CLS = np.argmax(X @ W_TRUE, axis=1)


class FixedRegressor(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        return self

    def predict(self, X):
        return X @ W_REG + B_REG


class FixedClassifier(ClassifierMixin, BaseEstimator):
    classes_ = np.array([0, 1, 2])

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.argmax(X @ W_CLS + B_CLS, axis=1)


class GivenShuffles:
    def __init__(self, column):
        self.column, self.repeat, self.previous = column, 0, np.arange(N)

    def shuffle(self, idx):
        want = perm(self.column, self.repeat)
        # sklearn's column after this repeat is previous[idx]; choose idx = previous^-1[want].
        inverse = np.argsort(self.previous)
        idx[:] = inverse[want]
        self.previous = want
        self.repeat += 1


class Start:
    def randint(self, high):
        return 0


def run(estimator, y):
    columns = iter(range(D))
    original = pi.check_random_state
    pi.check_random_state = lambda rs: rs if isinstance(rs, Start) else GivenShuffles(next(columns))
    try:
        r = pi.permutation_importance(estimator, X, y, n_repeats=REPEATS, random_state=Start())
    finally:
        pi.check_random_state = original
    return r


for name, est, y in [("regression r2", FixedRegressor(), Y_REG), ("classification accuracy", FixedClassifier(), Y_CLS)]:
    r = run(est, y)
    print(name, "baseline", repr(est.score(X, y)))
    print("  means", [repr(v) for v in r.importances_mean])
    print("  stds ", [repr(v) for v in r.importances_std])
