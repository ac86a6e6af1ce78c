"""The tutorial MLP as hand-tuned NumPy: the yardstick tinynet is held to.

Same maths as ``numpy_plain`` (sigmoid hidden layer, softmax + cross-entropy, plain SGD), made fast:
- float32 throughout, every buffer allocated once, 64-byte aligned (``common.aligned_empty``),
  and written through ``out=``;
- each batch is gathered with ``np.take`` into a buffer that stays in cache, instead of copying
  the whole shuffled training set every epoch; mode="clip" because the default mode="raise"
  gathers into a temporary first, and a permutation's indices are always in range;
- sigmoid(a) = 0.5 tanh(a / 2) + 0.5, computed in place (tanh cannot overflow, exp(-a) can);
- the logits are computed transposed, one column per sample, because NumPy reduces across
  10 rows far faster than along 100 rows of 10 (the per-sample max and sum of the softmax);
  sums over the batch are products with a vector of ones, which BLAS does faster still;
- a narrow first kernel (hidden < 64) is stored transposed, (hidden, 784) as PyTorch stores it:
  with OpenBLAS the skinny products x W1 and dL/dW1 run about a third faster in that layout at
  width 10, and slower at width 128 and up, where the (784, hidden) layout is kept;
- softmax and cross-entropy fused: the gradient at the logits is (p - y), and the factor lr / m
  is folded into it once, so all four parameter updates are a bare in-place subtraction.
"""
import time

import numpy as np

from .common import accuracy, aligned_empty, glorot_uniform, time_predict


def versions():
    return {"numpy": np.__version__}


NARROW = 64


def new_kernel(n_in, n_hidden):
    """An empty (n_in, n_hidden) float32 kernel; a narrow one is a view of (n_hidden, n_in) memory."""
    if n_hidden < NARROW:
        return aligned_empty((n_hidden, n_in)).T
    return aligned_empty((n_in, n_hidden))


def is_transposed(kernel):
    return not kernel.flags.c_contiguous


class Buffers:
    """Every array one SGD step of batch size ``m`` writes into, allocated once."""

    def __init__(self, m, n_in, n_hidden, n_out):
        f32 = np.float32
        self.x = aligned_empty((m, n_in))
        self.y = aligned_empty((m, n_out))
        self.h = aligned_empty((m, n_hidden))
        self.dh = aligned_empty((m, n_hidden))
        self.slope = aligned_empty((m, n_hidden))
        self.zt = aligned_empty((n_out, m))      # logits, then probabilities, then lr * gradient
        self.col = aligned_empty(m)              # one number per sample
        self.ones_m = np.ones(m, f32)
        self.ones_out = np.ones(n_out, f32)
        self.gw1 = new_kernel(n_in, n_hidden)
        self.gb1 = aligned_empty(n_hidden)
        self.gw2 = aligned_empty((n_hidden, n_out))
        self.gb2 = aligned_empty(n_out)


def sigmoid_(a):
    """sigmoid(a) in place, as 0.5 tanh(a / 2) + 0.5."""
    np.multiply(a, 0.5, out=a)
    np.tanh(a, out=a)
    np.multiply(a, 0.5, out=a)
    np.add(a, 0.5, out=a)


def softmax_columns_(zt, buf):
    """softmax of each column of ``zt`` in place (one column per sample)."""
    np.maximum.reduce(zt, axis=0, out=buf.col)
    np.subtract(zt, buf.col, out=zt)
    np.exp(zt, out=zt)
    np.matmul(buf.ones_out, zt, out=buf.col)
    np.divide(zt, buf.col, out=zt)


def forward_(params, x, buf):
    """buf.h = sigmoid(x W1 + b1), buf.zt = softmax(buf.h W2 + b2) transposed."""
    w1, b1, w2, b2 = params
    np.matmul(x, w1, out=buf.h)
    np.add(buf.h, b1, out=buf.h)
    sigmoid_(buf.h)
    np.matmul(w2.T, buf.h.T, out=buf.zt)
    np.add(buf.zt, b2[:, None], out=buf.zt)
    softmax_columns_(buf.zt, buf)


def sgd_step_(params, buf, lr):
    """One step on the batch already in buf.x / buf.y; updates ``params`` in place."""
    forward_(params, buf.x, buf)
    backward_update_(params, buf, lr)


def backward_update_(params, buf, lr):
    """Back-propagate from the probabilities forward_ left in buf.zt, and update ``params``."""
    w1, b1, w2, b2 = params
    dzt = buf.zt                                 # becomes lr * dLoss/dlogits = lr (p - y) / m
    np.subtract(dzt, buf.y.T, out=dzt)
    np.multiply(dzt, lr / len(buf.x), out=dzt)
    np.matmul(buf.h.T, dzt.T, out=buf.gw2)
    np.matmul(dzt, buf.ones_m, out=buf.gb2)
    np.matmul(dzt.T, w2.T, out=buf.dh)           # before W2 changes
    np.subtract(1.0, buf.h, out=buf.slope)       # sigmoid' = h (1 - h)
    np.multiply(buf.slope, buf.h, out=buf.slope)
    np.multiply(buf.dh, buf.slope, out=buf.dh)
    if is_transposed(buf.gw1):                   # write dL/dW1 in its own layout
        np.matmul(buf.dh.T, buf.x, out=buf.gw1.T)
    else:
        np.matmul(buf.x.T, buf.dh, out=buf.gw1)
    np.matmul(buf.ones_m, buf.dh, out=buf.gb1)
    np.subtract(w1, buf.gw1, out=w1)
    np.subtract(b1, buf.gb1, out=b1)
    np.subtract(w2, buf.gw2, out=w2)
    np.subtract(b2, buf.gb2, out=b2)


def train_epoch(params, x, y, batch_size, lr, rng, buffers):
    """One pass over (x, y) in a fresh random order; ``buffers`` maps batch size to Buffers."""
    order = rng.permutation(len(x))
    for start in range(0, len(x), batch_size):
        index = order[start:start + batch_size]
        buf = buffers[len(index)]
        np.take(x, index, axis=0, out=buf.x, mode="clip")
        np.take(y, index, axis=0, out=buf.y, mode="clip")
        sgd_step_(params, buf, lr)


def run_mlp(job, data):
    return train_and_predict(job, data, Buffers, train_epoch)


def train_and_predict(job, data, make_buffers, train_epoch):
    """Train with ``train_epoch`` on buffers from ``make_buffers``, then time predict on the test set.

    A ``train_epoch`` that returns the epoch's mean (loss, accuracy) has them kept in the result.
    """
    x, y = data.x_train, data.onehot_train
    n_in, n_hidden, n_out = x.shape[1], job["hidden"], y.shape[1]
    batch_size = job["batch_size"]
    rng = np.random.default_rng(job["seed"])
    w1 = new_kernel(n_in, n_hidden)
    w1[...] = glorot_uniform(rng, n_in, n_hidden)
    params = (w1, np.zeros(n_hidden, np.float32),
              glorot_uniform(rng, n_hidden, n_out), np.zeros(n_out, np.float32))
    sizes = {batch_size, len(x) % batch_size or batch_size}
    buffers = {m: make_buffers(m, n_in, n_hidden, n_out) for m in sizes}
    epoch_s, epoch_means = [], []
    for _ in range(job["epochs"]):
        start = time.perf_counter()
        means = train_epoch(params, x, y, batch_size, job["lr"], rng, buffers)
        epoch_s.append(time.perf_counter() - start)
        epoch_means.append(means)

    test = Buffers(len(data.x_test), 0, n_hidden, n_out)  # no x buffer: predict reads the images in place

    def predict(images):
        forward_(params, images, test)
        return test.zt.T

    predict_s, probs = time_predict(predict, data.x_test, job["predict_repeats"])
    result = {"epoch_s": epoch_s, "predict_s": predict_s, "test_accuracy": accuracy(probs, data.labels_test)}
    if epoch_means[0] is not None:
        result["train_loss"], result["train_accuracy"] = (list(v) for v in zip(*epoch_means))
    return result
