# Reference values for estimate's validity-index tests, computed with Debian's
# python3-sklearn 1.2.1 (numpy 1.24.2). Run from the repository root:
#   /usr/bin/python3 internal/estimate/testdata/sklearn_ref.py
# The Go tests build the same matrices and labellings (see indices_test.go).
import numpy as np, csv
from sklearn.metrics import silhouette_score, calinski_harabasz_score, davies_bouldin_score

def load(path):
    with open(path) as f:
        r = csv.reader(f); next(r)
        rows = list(r)
    X = np.array([[float(v) for v in row[:-1]] for row in rows])
    y = [row[-1] for row in rows]
    return X, y

def zscore_select(X, y, novel, drop_const=False):
    if drop_const:
        keep = X.std(axis=0) > 0
        X = X[:, keep]
    mu, sd = X.mean(axis=0), X.std(axis=0)
    Z = (X - mu) / sd
    idx = [i for i, c in enumerate(y) if c in novel]
    return Z[idx], [y[i] for i in idx]

def labellings(y):
    n = len(y)
    classes = sorted(set(y))
    true = [classes.index(c) for c in y]
    single = [i % 4 for i in range(n)]
    single[0], single[1], single[2] = 100, 101, 102  # three singleton clusters
    return {"true": true, "mod3": [i % 3 for i in range(n)], "mod7": [i % 7 for i in range(n)],
            "mod30": [i % 30 for i in range(n)], "singletons": single,
            "sq": [(i * i) % 11 for i in range(n)]}

sets = {}
X, y = load("testdata/iris.csv"); sets["iris"] = (X, y)
X, y = load("testdata/wine.csv"); sets["wine"] = (X, y)
X, y = load("testdata/letter_train.csv"); sets["letter_novel"] = zscore_select(X, y, set("ADHMPVX"))
X, y = load("testdata/pendigits_train.csv"); sets["pendigits_novel"] = zscore_select(X, y, set("03567"))
X, y = load("testdata/optdigits_train.csv"); sets["optdigits_novel"] = zscore_select(X, y, set("03456"), drop_const=True)
for name, (X, y) in sets.items():
    for lname, lab in labellings(y).items():
        lab = np.array(lab)
        print('{"%s", "%s", %r, %r, %r},' % (name, lname, silhouette_score(X, lab),
              calinski_harabasz_score(X, lab), davies_bouldin_score(X, lab)))
