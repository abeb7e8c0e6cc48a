"""scikit-learn's default MLP on the same splits as Functional.NN's defaults (issue 13, must-show 1).

Usage: python3 tests/reference/mlp_sklearn.py FOLDER
FOLDER holds pairs NAME-train.csv / NAME-test.csv written by bench/defaults_vs_sklearn.fsx: a header
row, the numeric feature columns, then the target column; the file NAME.task holds "classification"
or "regression" and the seed. For each pair this fits StandardScaler (on the training rows) and
MLPClassifier() / MLPRegressor() with every default but random_state=seed (hidden_layer_sizes=(100,),
relu, adam, learning_rate_init=0.001, batch_size=min(200, n), max_iter=200, n_iter_no_change=10,
tol=1e-4) and prints one line per pair: NAME, the test accuracy (classification) or R^2
(regression), and the number of iterations run.

Run with Debian's python3 (python3-sklearn 1.2.1, python3-numpy).
"""
import glob
import os
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def read(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return data[:, :-1], data[:, -1]


def main(folder):
    for train_path in sorted(glob.glob(os.path.join(folder, "*-train.csv"))):
        name = os.path.basename(train_path)[: -len("-train.csv")]
        with open(os.path.join(folder, name + ".task")) as f:
            task, seed = f.read().split()
        x, y = read(train_path)
        xt, yt = read(os.path.join(folder, name + "-test.csv"))
        if task == "classification":
            model = make_pipeline(StandardScaler(), MLPClassifier(random_state=int(seed)))
            y, yt = y.astype(int), yt.astype(int)
        else:
            model = make_pipeline(StandardScaler(), MLPRegressor(random_state=int(seed)))
        with warnings.catch_warnings():
            # max_iter=200 is reached on some tables: the default, kept as it is.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x, y)
        # score: accuracy for a classifier, R^2 for a regressor (scikit-learn's definitions).
        print(f"{name} {model.score(xt, yt):.6f} {model[-1].n_iter_}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
