"""Experiments with the learning process: change one thing, train again, compare the validation curves.

    python examples/learning_experiments.py                 # every experiment, 5 epochs each
    python examples/learning_experiments.py --epochs 10     # longer runs show the differences better
    python examples/learning_experiments.py --only optimizer learning_rate
    python examples/learning_experiments.py --plots out/    # save each run's curves as PNG files

Each experiment trains the same small network (784 inputs, 64 hidden units, 10 softmax outputs)
on part of MNIST, holding out the last 20% of it with ``validation_split=0.2``: the validation
accuracy says how well the network does on images it did not learn from.

1. ``activation``: relu against sigmoid in the hidden layer.
2. ``optimizer``: plain SGD, SGD with momentum, and Adam.
3. ``learning_rate``: SGD with rates from 0.001 to 1.
4. ``batch_size``: 8 to 512 images per step (fewer, larger steps per epoch).
5. ``early_stopping``: a large network trained on few images overfits; EarlyStopping ends training when
   the validation loss stops falling and gives back the best weights.
6. ``batch_normalization``: the sigmoid network with plain SGD, with and without a
   BatchNormalization layer between the hidden layer's weighted sums and its sigmoid.

MNIST is found through $TINYNET_DATA_DIR, Keras's or tinynet's cache, or downloaded once.
"""

import argparse
import time

from mnist_dense import show_figures  # the tutorial script's helper: save with --plots, else show
from tinynet import plot
from tinynet.callbacks import EarlyStopping
from tinynet.datasets import mnist
from tinynet.layers import Activation, BatchNormalization, Dense
from tinynet.models import Sequential
from tinynet.optimizers import SGD, Adam
from tinynet.utils import set_random_seed, to_categorical

EXPERIMENTS = ("activation", "optimizer", "learning_rate", "batch_size", "early_stopping", "batch_normalization")


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training images per run (default 5)")
    parser.add_argument("--samples", type=int, default=12000,
                        help="MNIST training images used, the last 20%% for validation (default 12000)")
    parser.add_argument("--only", nargs="+", choices=EXPERIMENTS, default=EXPERIMENTS, help="run only these")
    parser.add_argument("--seed", type=int, default=0, help="seed: every run starts from the same weights")
    parser.add_argument("--plots", metavar="DIR", help="save the figures as PNG files in DIR instead of showing them")
    return parser.parse_args()


def load_mnist(samples):
    """The first ``samples`` training images and the test set, flattened, scaled and one-hot."""
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train = x_train[:samples].reshape(-1, 784).astype("float32") / 255
    x_test = x_test.reshape(-1, 784).astype("float32") / 255
    return (x_train, to_categorical(y_train[:samples], 10)), (x_test, to_categorical(y_test, 10))


def network(activation="relu", units=64, normalized=False):
    model = Sequential()
    if normalized:  # z = x W + b, normalised over the batch, then the activation
        model.add(Dense(units, input_shape=(784,)))
        model.add(BatchNormalization())
        model.add(Activation(activation))
    else:
        model.add(Dense(units, activation=activation, input_shape=(784,)))
    model.add(Dense(10, activation="softmax"))
    return model


class Lab:
    """Runs the experiments: trains each setting from the same start and prints one line per run."""

    def __init__(self, args):
        self.args = args
        (self.x, self.y), (self.x_test, self.y_test) = load_mnist(args.samples)
        self.figures = {}

    def run(self, name, model, optimizer, batch_size=32, epochs=None, callbacks=None, samples=None):
        """Train ``model`` on the first ``samples`` images (all by default), validating on their last 20%."""
        set_random_seed(self.args.seed)  # the same shuffling in every run, so only the setting differs
        model.compile(loss="categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
        start = time.perf_counter()
        history = model.fit(self.x[:samples], self.y[:samples], batch_size=batch_size,
                            epochs=epochs or self.args.epochs, validation_split=0.2, callbacks=callbacks, verbose=0)
        seconds = time.perf_counter() - start
        curve = " ".join(f"{value:.3f}" for value in history.history["val_accuracy"])
        print(f"  {name:<22} val_accuracy by epoch: {curve}   ({seconds:.1f} s)")
        self.figures[name.replace(" ", "_").replace("=", "_")] = lambda: self.titled(plot.plot_history(history), name)
        return history

    @staticmethod
    def titled(figure, name):
        figure.suptitle(name)
        return figure

    def fresh(self, **kwargs):
        """A new network whose weights are the same for every run of an experiment."""
        set_random_seed(self.args.seed)
        return network(**kwargs)

    # --- the experiments -----------------------------------------------------------------------

    def activation(self):
        print("\n1. Hidden activation (Adam): relu keeps gradients alive where sigmoid flattens out.")
        for activation in ("sigmoid", "relu"):
            self.run(activation, self.fresh(activation=activation), Adam())

    def optimizer(self):
        print("\n2. Optimizer (learning rate 0.01 for SGD, Adam's default 0.001).")
        self.run("SGD", self.fresh(), SGD(learning_rate=0.01))
        self.run("SGD momentum=0.9", self.fresh(), SGD(learning_rate=0.01, momentum=0.9))
        self.run("SGD nesterov", self.fresh(), SGD(learning_rate=0.01, momentum=0.9, nesterov=True))
        self.run("Adam", self.fresh(), Adam())

    def learning_rate(self):
        print("\n3. Learning rate of SGD: too small crawls, too large jumps around.")
        for rate in (0.001, 0.01, 0.1, 1.0):
            self.run(f"SGD lr={rate}", self.fresh(), SGD(learning_rate=rate))

    def batch_size(self):
        print("\n4. Batch size (SGD, learning rate 0.1): small batches take many noisy steps per epoch.")
        for batch_size in (8, 32, 128, 512):
            self.run(f"batch_size={batch_size}", self.fresh(), SGD(learning_rate=0.1), batch_size=batch_size)

    def early_stopping(self):
        print("\n5. Early stopping: 512 hidden units trained on 800 images overfit within a few epochs.")
        model = self.fresh(units=512)
        stopper = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
        history = self.run("early stopping", model, Adam(), epochs=10 * self.args.epochs, callbacks=[stopper],
                           samples=1000)
        val_loss = history.history["val_loss"]
        print(f"  val_loss was lowest after epoch {stopper.best_epoch + 1} ({min(val_loss):.3f}); training "
              f"stopped after epoch {len(val_loss)} ({val_loss[-1]:.3f}) and kept the best weights.")
        _, test_accuracy = model.evaluate(self.x_test, self.y_test, verbose=0)
        print(f"  With those weights the network gets {test_accuracy:.3f} of the 10,000 test images right.")

    def batch_normalization(self):
        print("\n6. Batch normalization (sigmoid, SGD at 0.01): each hidden unit's weighted sum brought to mean 0 "
              "and variance 1\n   over the batch stays where the sigmoid is steep, and plain SGD learns faster.")
        self.run("plain sigmoid", self.fresh(activation="sigmoid"), SGD(learning_rate=0.01))
        self.run("BatchNormalization", self.fresh(activation="sigmoid", normalized=True), SGD(learning_rate=0.01))


def main():
    args = parse_arguments()
    lab = Lab(args)
    print(f"{args.samples} MNIST images: {int(args.samples * 0.8)} to train on, the last "
          f"{args.samples - int(args.samples * 0.8)} to validate on.")
    for name in EXPERIMENTS:
        if name in args.only:
            getattr(lab, name)()
    show_figures(lab.figures, args.plots)


if __name__ == "__main__":
    main()
