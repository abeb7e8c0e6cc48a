"""Expected values for MetricsTests.fs and DataTests.fs, from scikit-learn 1.2.1 (Debian's
python3-sklearn). Run from the repository root: python3 tests/reference/metrics_sklearn.py"""
import numpy as np
from sklearn.metrics import (accuracy_score, confusion_matrix, precision_recall_fscore_support,
                             log_loss, mean_squared_error, mean_absolute_error, r2_score)
from sklearn.preprocessing import StandardScaler, MinMaxScaler

np.set_printoptions(precision=17)
# Classification: 3 classes, 10 samples.
actual    = [0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
predicted = [0, 1, 0, 1, 1, 2, 1, 2, 0, 2]
proba = np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.5, 0.3],
                  [0.1, 0.3, 0.6], [0.25, 0.5, 0.25], [0.0, 0.1, 0.9], [0.5, 0.2, 0.3], [0.1, 0.1, 0.8]])
print("accuracy", repr(accuracy_score(actual, predicted)))
print("confusion", confusion_matrix(actual, predicted).tolist())
p, r, f, s = precision_recall_fscore_support(actual, predicted)
print("precision", [repr(x) for x in p])
print("recall", [repr(x) for x in r])
print("f1", [repr(x) for x in f])
print("support", s.tolist())
print("log_loss", repr(log_loss(actual, proba)))
# Regression: one column and two columns.
y = np.array([3.0, -0.5, 2.0, 7.0, 4.2])
yhat = np.array([2.5, 0.0, 2.0, 8.0, 3.9])
print("mse", repr(mean_squared_error(y, yhat)), "mae", repr(mean_absolute_error(y, yhat)), "r2", repr(r2_score(y, yhat)))
Y = np.array([[0.5, 1.0], [-1.0, 1.0], [7.0, -6.0]])
Yhat = np.array([[0.0, 2.0], [-1.0, 2.0], [8.0, -5.0]])
print("mse2", repr(mean_squared_error(Y, Yhat)), "mae2", repr(mean_absolute_error(Y, Yhat)), "r2_2", repr(r2_score(Y, Yhat)))
# Scalers on a 4 x 2 matrix with a constant column.
X = np.array([[1.0, 5.0], [2.0, 5.0], [4.0, 5.0], [9.0, 5.0]])
st = StandardScaler().fit(X)
print("standard mean", st.mean_.tolist(), "scale", [repr(x) for x in st.scale_])
print("standard X[3]", [repr(x) for x in st.transform(X)[3]])
mm = MinMaxScaler().fit(X)
print("minmax X[2]", [repr(x) for x in mm.transform(X)[2]], "new row [10, 6]", mm.transform([[10.0, 6.0]]).tolist())

# Printed by this script (scikit-learn 1.2.1):
# accuracy 0.7
# confusion [[2, 1, 0], [0, 3, 1], [1, 0, 2]]
# precision ['0.6666666666666666', '0.75', '0.6666666666666666']
# recall ['0.6666666666666666', '0.75', '0.6666666666666666']
# f1 ['0.6666666666666666', '0.75', '0.6666666666666666']
# support [3, 4, 3]
# log_loss 0.6129678887636886
# mse 0.318 mae 0.4600000000000001 r2 0.9480256276150627
# mse2 0.7083333333333334 mae2 0.75 r2_2 0.9368005266622779
# standard mean [4.0, 5.0] scale ['3.082207001484488', '1.0']
# standard X[3] ['1.6222142113076254', '0.0']
# minmax X[2] ['0.375', '0.0'] new row [10, 6] [[1.125, 1.0]]
