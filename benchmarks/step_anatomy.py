"""Where one training step's time goes: tinynet against the same NumPy calls written out flat.

    TINYNET_DATA_DIR=/path/to/mnist python benchmarks/step_anatomy.py [--rounds 20]

The tutorial MLP, one batch of 100 MNIST images, one SGD step with its loss and accuracy: what
``fit`` runs for every batch once the batch is gathered. Timed, in turns within one process:

- ``tinynet``: ``Sequential._train_step``, the step ``fit`` calls for each batch;
- ``flat``: the very NumPy calls tinynet's step makes, in its order, in one function: no layer,
  activation, loss, metric or optimizer objects in between;
- ``flat, out=``: those calls writing into arrays allocated once (``out=``), as preallocated
  buffers would;
- ``loop``: the step of the ``numpy-tuned-metrics`` peer, which makes fewer calls (the learning
  rate folded into dL/dz once, the logits computed transposed, the loss and accuracy read off the
  softmax's denominators);
- ``flat`` and ``loop`` once more without the loss and accuracy.

So ``tinynet - flat`` is what the engine's structure costs, ``flat - flat, out=`` what new arrays
cost, and ``flat - loop`` what the loop's fewer calls save. Each round times every variant for
1,000 steps (best of 3); the table gives the median and the minimum over the rounds. Before timing,
one step of each variant from the same weights must give tinynet's weights, loss and accuracy.
"""
import argparse
import sys
import timeit
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import tinynet  # noqa: E402
from compare import machine  # noqa: E402
from peers import numpy_tuned, numpy_tuned_metrics  # noqa: E402
from tinynet.layers import Dense  # noqa: E402
from tinynet.models import Sequential  # noqa: E402
from tinynet.utils import set_random_seed  # noqa: E402
from worker import prepare  # noqa: E402

BATCH = 100
LEARNING_RATE = 0.01
EPSILON = 1e-7
STEPS_PER_ROUND = 1000


def flat_step(w1, b1, w2, b2, x, y, score=True):
    """tinynet's step as the NumPy calls it makes (models, layers.core, activations, losses,
    metrics, optimizers), one after the other; updates the weights in place like the optimizer."""
    ones = np.ones(len(x), np.float32)
    z = x @ w1                                       # Dense 1
    z += b1
    h = np.tanh(0.5 * z)                             # Sigmoid
    h *= 0.5
    h += 0.5
    z = h @ w2                                       # Dense 2
    z += b2
    columns = np.ascontiguousarray(z.T)              # Softmax, worked on transposed
    columns -= columns.max(axis=0, keepdims=True)
    e = np.exp(columns)
    e /= e.sum(axis=0, keepdims=True)
    p = np.ascontiguousarray(e.T)
    grad_z = p - y                                   # CategoricalCrossentropy.gradient_wrt_logits
    grad_z /= len(x)
    grad_w2 = (grad_z.T @ h).T                       # Dense 2 backward
    grad_b2 = ones @ grad_z
    grad_h = grad_z @ w2.T
    grad_z = 1.0 - h                                 # Sigmoid backward
    grad_z *= h
    grad_z *= grad_h
    grad_w1 = (grad_z.T @ x).T                       # Dense 1 backward
    grad_b1 = ones @ grad_z
    for weight, grad in ((w1, grad_w1), (b1, grad_b1), (w2, grad_w2), (b2, grad_b2)):
        weight -= LEARNING_RATE * grad               # SGD
    if not score:
        return None
    loss = (y * np.log(p.clip(EPSILON, 1.0 - EPSILON))).sum() / -len(x)
    hits = p.argmax(axis=-1) == y.argmax(axis=-1)
    return loss, np.asarray(np.count_nonzero(hits), dtype=np.float32) / len(x)


class Buffers:
    """Every array flat_step creates, allocated once for batches of ``m``."""

    def __init__(self, m, n_in, n_hidden, n_out):
        f32 = np.float32
        self.ones = np.ones(m, f32)
        self.h, self.grad_h, self.grad_hz = (np.empty((m, n_hidden), f32) for _ in range(3))
        self.z, self.p, self.grad_z, self.log_p = (np.empty((m, n_out), f32) for _ in range(4))
        self.columns = np.empty((n_out, m), f32)
        self.per_sample = np.empty((1, m), f32)
        self.grad_w1 = np.empty((n_hidden, n_in), f32).T   # tinynet's column-major layout
        self.scaled_w1 = np.empty_like(self.grad_w1)
        self.grad_w2 = np.empty((n_out, n_hidden), f32).T
        self.scaled_w2 = np.empty_like(self.grad_w2)
        self.grad_b1, self.scaled_b1 = np.empty(n_hidden, f32), np.empty(n_hidden, f32)
        self.grad_b2, self.scaled_b2 = np.empty(n_out, f32), np.empty(n_out, f32)
        self.predicted, self.labels = np.empty(m, np.intp), np.empty(m, np.intp)
        self.hits = np.empty(m, bool)


def flat_step_into(w1, b1, w2, b2, x, y, buf):
    """flat_step with every result written into ``buf`` (``out=``); the same calls otherwise."""
    np.matmul(x, w1, out=buf.h)
    buf.h += b1
    np.multiply(buf.h, 0.5, out=buf.h)
    np.tanh(buf.h, out=buf.h)
    buf.h *= 0.5
    buf.h += 0.5
    np.matmul(buf.h, w2, out=buf.z)
    buf.z += b2
    buf.columns[...] = buf.z.T
    np.maximum.reduce(buf.columns, axis=0, keepdims=True, out=buf.per_sample)
    buf.columns -= buf.per_sample
    np.exp(buf.columns, out=buf.columns)
    np.add.reduce(buf.columns, axis=0, keepdims=True, out=buf.per_sample)
    buf.columns /= buf.per_sample
    buf.p[...] = buf.columns.T
    np.subtract(buf.p, y, out=buf.grad_z)
    buf.grad_z /= len(x)
    np.matmul(buf.grad_z.T, buf.h, out=buf.grad_w2.T)
    np.matmul(buf.ones, buf.grad_z, out=buf.grad_b2)
    np.matmul(buf.grad_z, w2.T, out=buf.grad_h)
    np.subtract(1.0, buf.h, out=buf.grad_hz)
    buf.grad_hz *= buf.h
    buf.grad_hz *= buf.grad_h
    np.matmul(buf.grad_hz.T, x, out=buf.grad_w1.T)
    np.matmul(buf.ones, buf.grad_hz, out=buf.grad_b1)
    for weight, grad, scaled in ((w1, buf.grad_w1, buf.scaled_w1), (b1, buf.grad_b1, buf.scaled_b1),
                                 (w2, buf.grad_w2, buf.scaled_w2), (b2, buf.grad_b2, buf.scaled_b2)):
        np.multiply(grad, LEARNING_RATE, out=scaled)
        weight -= scaled
    np.maximum(buf.p, EPSILON, out=buf.log_p)
    np.minimum(buf.log_p, 1.0 - EPSILON, out=buf.log_p)
    np.log(buf.log_p, out=buf.log_p)
    buf.log_p *= y
    loss = np.add.reduce(buf.log_p, axis=None) / -len(x)
    buf.p.argmax(axis=-1, out=buf.predicted)
    y.argmax(axis=-1, out=buf.labels)
    np.equal(buf.predicted, buf.labels, out=buf.hits)
    return loss, np.asarray(np.count_nonzero(buf.hits), dtype=np.float32) / len(x)


def loop_weights(weights):
    """The peer's parameters from tinynet's: its narrow first kernel is a transposed view too."""
    w1, b1, w2, b2 = weights
    kernel = numpy_tuned.new_kernel(*w1.shape)
    kernel[...] = w1
    return [kernel, b1.copy(), np.ascontiguousarray(w2), b2.copy()]


def loop_step(params, buf, log_sum, score=True):
    """One step of the peer on the batch already in buf.x and buf.y; (loss, accuracy) if scored."""
    numpy_tuned.forward_(params, buf.x, buf)
    hits = numpy_tuned_metrics.score_(buf, log_sum) if score else None
    numpy_tuned.backward_update_(params, buf, LEARNING_RATE)
    return None if hits is None else (-float(log_sum) / len(buf.x), hits / len(buf.x))


def variants(model, x, y):
    """name -> (one step, the weights it updates), each on its own copy of the model's weights."""
    initial = [np.array(w, order="K") for layer in model.layers for w in layer.weights]
    n_in, n_hidden, n_out = x.shape[1], initial[1].size, initial[3].size
    copies = [[w.copy(order="K") for w in initial] for _ in range(3)]
    buf = Buffers(len(x), n_in, n_hidden, n_out)
    loop_buf = numpy_tuned_metrics.ScoredBuffers(len(x), n_in, n_hidden, n_out)
    loop_buf.x[...], loop_buf.y[...] = x, y
    loop, loop_bare = loop_weights(initial), loop_weights(initial)
    log_sum = np.zeros((), np.float32)
    tinynet_weights = [w for layer in model.layers for w in layer.weights]
    return {
        "tinynet": (lambda: model._train_step(x, y), tinynet_weights),
        "flat": (lambda: flat_step(*copies[0], x, y), copies[0]),
        "flat, out=": (lambda: flat_step_into(*copies[1], x, y, buf), copies[1]),
        "loop": (lambda: loop_step(loop, loop_buf, log_sum), loop),
        "flat, no loss or accuracy": (lambda: flat_step(*copies[2], x, y, score=False), copies[2]),
        "loop, no loss or accuracy": (lambda: loop_step(loop_bare, loop_buf, log_sum, score=False), loop_bare),
    }


def check_same_step(steps):
    """One step of every variant from the same weights: each must end where tinynet's does."""
    results = {name: step() for name, (step, _) in steps.items()}
    reference_values = [float(v) for v in results["tinynet"]]
    reference_weights = steps["tinynet"][1]
    for name, (_, weights) in steps.items():
        for mine, theirs in zip(weights, reference_weights):
            np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-7, err_msg=f"{name}: weights")
        if results[name] is not None:
            np.testing.assert_allclose([float(v) for v in results[name]], reference_values,
                                       rtol=1e-5, err_msg=f"{name}: loss and accuracy")


def time_rounds(steps, rounds):
    """Microseconds per step: for each variant, one best-of-3 figure per round, in turns."""
    seconds = {name: [] for name in steps}
    for _ in range(rounds):
        for name, (step, _) in steps.items():
            best = min(timeit.repeat(step, number=STEPS_PER_ROUND, repeat=3))
            seconds[name].append(best / STEPS_PER_ROUND * 1e6)
    return seconds


def table(micros):
    loop = np.median(micros["loop"])
    lines = ["| step | µs, median | µs, min | ÷ loop |", "| --- | ---: | ---: | ---: |"]
    for name, values in micros.items():
        median = np.median(values)
        lines.append(f"| {name} | {median:.1f} | {min(values):.1f} | {median / loop:.2f}x |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds of timing (default 20)")
    rounds = parser.parse_args().rounds
    data = prepare("mlp", None)
    x, y = data.x_train[:BATCH], data.onehot_train[:BATCH]
    set_random_seed(0)
    model = Sequential([Dense(10, activation="sigmoid", input_shape=(784,)), Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    steps = variants(model, x, y)
    check_same_step(steps)
    micros = time_rounds(steps, rounds)
    facts = machine()
    print(f"{facts['cpu']}, {facts['cores']} cores; Python {facts['python']}, numpy {np.__version__}, "
          f"tinynet {tinynet.__version__}; {rounds} rounds of {STEPS_PER_ROUND} steps, batch {BATCH}\n")
    print(table(micros))
    # The minimums: a slow spell of the machine during some rounds moves the medians apart.
    best = {name: min(values) for name, values in micros.items()}
    scoring = (best["flat"] - best["flat, no loss or accuracy"]) - (best["loop"] - best["loop, no loss or accuracy"])
    print(f"\nFrom the minimums: tinynet's objects (tinynet - flat) {best['tinynet'] - best['flat']:+.1f} µs; "
          f"new arrays (flat - flat, out=) {best['flat'] - best['flat, out=']:+.1f} µs; "
          f"the loop's other calls (flat - loop) {best['flat'] - best['loop']:+.1f} µs, "
          f"{scoring:+.1f} µs of them in the loss and accuracy.")


if __name__ == "__main__":
    main()
