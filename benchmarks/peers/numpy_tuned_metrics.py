"""The hand-tuned NumPy loop that also scores every batch, as tinynet's ``fit`` does.

``numpy_tuned`` trains and nothing else. tinynet's ``fit``, compiled with
``loss='categorical_crossentropy', metrics=['accuracy']``, also computes each batch's loss and
accuracy from the probabilities it trained on, and reports their epoch means. This loop does the
same maths, hand-tuned like the rest:

    loss     = -sum(y * log(clip(p, 1e-7, 1 - 1e-7))) / m      (Keras's categorical cross-entropy)
    accuracy = share of samples whose largest p is at the label

- y is one-hot, so the sum over classes is the probability at the true class: one product with
  y and one product with a vector of ones (NumPy reduces across the 10 rows of the transposed
  probabilities far faster than it gathers by label or runs argmax down them);
- a sample is a hit when its true-class p is the column's largest, and that largest p is 1 / S
  exactly: softmax_columns_ divides exp(z - max z) by the column sum S, which it leaves in
  buf.col, and the largest of those exponentials is exp(0) = 1. So one reciprocal and one compare
  replace argmax (about five times dearer down the columns) or a max-reduce (three times); argmax
  would give the first of exactly tied maxima, this counts any of them;
- the clip to [eps, 1 - eps] is done on those m numbers only, the other classes drop out with y = 0;
- each batch's sum of log p goes into its own slot of an epoch array and its hits into a count,
  so the epoch means are one sum and two divisions at the epoch's end, weighted by batch size as
  tinynet weights them.
"""
import numpy as np

from .numpy_tuned import Buffers, backward_update_, forward_, train_and_predict

EPSILON = np.float32(1e-7)
ONE_MINUS_EPSILON = np.float32(1 - 1e-7)


def versions():
    return {"numpy": np.__version__}


class ScoredBuffers(Buffers):
    """numpy_tuned's buffers plus the few a batch's loss and accuracy write into."""

    def __init__(self, m, n_in, n_hidden, n_out):
        super().__init__(m, n_in, n_hidden, n_out)
        self.py = np.empty((n_out, m), np.float32)   # p * y: the true-class p, zeros elsewhere
        self.p_true = np.empty(m, np.float32)         # then log(clip(p_true))
        self.p_max = np.empty(m, np.float32)          # 1 / S, the largest p of each sample
        self.hit = np.empty(m, bool)


def score_(buf, log_sum):
    """Write the batch's sum of log(clip(p_true)) into the 0-d array ``log_sum``; return its hits.

    Reads what forward_ left: the probabilities in buf.zt (one column per sample), their softmax
    denominators in buf.col; and the one-hot buf.y.
    """
    np.multiply(buf.zt, buf.y.T, out=buf.py)
    np.matmul(buf.ones_out, buf.py, out=buf.p_true)
    np.reciprocal(buf.col, out=buf.p_max)
    hits = np.count_nonzero(np.greater_equal(buf.p_true, buf.p_max, out=buf.hit))
    np.maximum(buf.p_true, EPSILON, out=buf.p_true)
    np.minimum(buf.p_true, ONE_MINUS_EPSILON, out=buf.p_true)
    np.log(buf.p_true, out=buf.p_true)
    np.add.reduce(buf.p_true, out=log_sum)
    return hits


def train_epoch(params, x, y, batch_size, lr, rng, buffers):
    """numpy_tuned.train_epoch, scoring each batch before the update; returns (mean loss, accuracy)."""
    order = rng.permutation(len(x))
    log_sums = np.empty(-(-len(x) // batch_size), np.float32)   # one per batch
    hits = 0
    for batch, start in enumerate(range(0, len(x), batch_size)):
        index = order[start:start + batch_size]
        buf = buffers[len(index)]
        np.take(x, index, axis=0, out=buf.x, mode="clip")
        np.take(y, index, axis=0, out=buf.y, mode="clip")
        forward_(params, buf.x, buf)
        hits += score_(buf, log_sums[batch, ...])
        backward_update_(params, buf, lr)
    return -float(log_sums.sum(dtype=np.float64)) / len(x), hits / len(x)


def run_mlp(job, data):
    return train_and_predict(job, data, ScoredBuffers, train_epoch)
