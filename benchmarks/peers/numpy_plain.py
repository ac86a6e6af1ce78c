"""The tutorial MLP as plain NumPy, written the way a textbook writes it.

Forward  h = sigmoid(x W1 + b1),  p = softmax(h W2 + b2)
Backward dz = (p - y) / m,  dh = dz W2^T * h (1 - h),  W -= lr * gradient
Every step allocates its intermediates afresh; parameters are float32 like the data.
"""
import time

import numpy as np

from .common import accuracy, glorot_uniform, time_predict


def versions():
    return {"numpy": np.__version__}


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward(params, x):
    w1, b1, w2, b2 = params
    h = sigmoid(x @ w1 + b1)
    return h, softmax(h @ w2 + b2)


def train_epoch(params, x, y, batch_size, lr, rng):
    w1, b1, w2, b2 = params
    order = rng.permutation(len(x))
    xs, ys = x[order], y[order]
    for start in range(0, len(x), batch_size):
        xb, yb = xs[start:start + batch_size], ys[start:start + batch_size]
        h, p = forward(params, xb)
        dz = (p - yb) / len(xb)
        dh = (dz @ w2.T) * h * (1 - h)
        w2 -= lr * (h.T @ dz)
        b2 -= lr * dz.sum(axis=0)
        w1 -= lr * (xb.T @ dh)
        b1 -= lr * dh.sum(axis=0)


def run_mlp(job, data):
    rng = np.random.default_rng(job["seed"])
    n_in, n_out = data.x_train.shape[1], data.onehot_train.shape[1]
    params = (glorot_uniform(rng, n_in, job["hidden"]), np.zeros(job["hidden"], np.float32),
              glorot_uniform(rng, job["hidden"], n_out), np.zeros(n_out, np.float32))
    epoch_s = []
    for _ in range(job["epochs"]):
        start = time.perf_counter()
        train_epoch(params, data.x_train, data.onehot_train, job["batch_size"], job["lr"], rng)
        epoch_s.append(time.perf_counter() - start)
    predict_s, probs = time_predict(lambda x: forward(params, x)[1], data.x_test, job["predict_repeats"])
    return {"epoch_s": epoch_s, "predict_s": predict_s, "test_accuracy": accuracy(probs, data.labels_test)}
