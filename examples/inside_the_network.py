"""Inside the tutorial's network: what its 10 hidden units learned, and what they make of a digit.

    python examples/inside_the_network.py                # 5 epochs, as in the tutorial
    python examples/inside_the_network.py --plots out/   # save the figures as PNG files

The tutorial's model is ``Dense(10, sigmoid)`` then ``Dense(10, softmax)``. Hidden unit ``j``
computes ``sigmoid(sum_k x_k W[k, j] + b[j])`` over the 784 pixels ``x_k``, so column ``j`` of
the first kernel holds one weight per pixel: drawn as a 28x28 image it shows which pixels excite
the unit (positive, red) and which inhibit it (negative, blue). ``model.layer_outputs(x)`` then
gives each layer's output for a few test digits: the 10 numbers the hidden layer passes on, and
the 10 probabilities the model answers with.
"""

import argparse

import numpy as np

from mnist_dense import show_figures  # the tutorial script's helper: save with --plots, else show
from tinynet.datasets import mnist
from tinynet.layers.core import Dense
from tinynet.models import Sequential
from tinynet.utils import set_random_seed, to_categorical

DIGITS_SHOWN = 6


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training set (default 5)")
    parser.add_argument("--seed", type=int, default=None, help="seed for a repeatable run")
    parser.add_argument("--plots", metavar="DIR", help="save the figures as PNG files in DIR instead of showing them")
    return parser.parse_args()


def plot_hidden_weights(kernel):
    """Each column of the first kernel (784 x 10) as a 28x28 image: one picture per hidden unit."""
    import matplotlib.pyplot as plt

    units = kernel.shape[1]
    fig, axes = plt.subplots(2, units // 2, figsize=(2 * units // 2, 4.6), layout="constrained")
    limit = np.abs(kernel).max()  # one colour scale for all units, centred on 0 (white)
    for unit, ax in enumerate(axes.flat):
        image = ax.imshow(kernel[:, unit].reshape(28, 28), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(f"hidden unit {unit}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=axes, shrink=0.8, label="weight: red excites, blue inhibits")
    return fig


def plot_layer_outputs(images, labels, hidden, probabilities):
    """For each digit: the image, the hidden layer's 10 outputs, and the 10 output probabilities."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(images), 3, figsize=(9, 1.6 * len(images)), width_ratios=[1, 2, 2],
                             layout="constrained")
    for row, (image, label, units, answer) in enumerate(zip(images, labels, hidden, probabilities)):
        image_ax, hidden_ax, output_ax = axes[row]
        image_ax.imshow(image.reshape(28, 28), cmap="binary")
        image_ax.set_xticks([])
        image_ax.set_yticks([])
        image_ax.set_ylabel(f"a {label}")
        hidden_ax.bar(range(len(units)), units, color="tab:orange")
        output_ax.bar(range(len(answer)), answer, color="tab:blue")
        for ax in (hidden_ax, output_ax):
            ax.set_ylim(0, 1)
            ax.set_xticks(range(10))
    axes[0, 1].set_title("hidden layer: outputs of units 0-9", fontsize=10)
    axes[0, 2].set_title("output layer: probabilities of digits 0-9", fontsize=10)
    return fig


def main():
    args = parse_arguments()
    if args.seed is not None:
        set_random_seed(args.seed)

    # The tutorial, in brief: scaled, flattened images; one-hot labels; the same model.
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train = x_train.reshape(60000, 784).astype("float32") / 255
    x_test = x_test.reshape(10000, 784).astype("float32") / 255
    model = Sequential()
    model.add(Dense(10, activation="sigmoid", input_shape=(784,)))
    model.add(Dense(10, activation="softmax"))
    model.summary()
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    model.fit(x_train, to_categorical(y_train, 10), batch_size=100, epochs=args.epochs)
    test_loss, test_acc = model.evaluate(x_test, to_categorical(y_test, 10), verbose=0)
    print("Test accuracy:", test_acc)

    # What the hidden units look for: the columns of the first layer's kernel W (784 x 10).
    kernel, bias = model.layers[0].get_weights()
    print("first layer: kernel", kernel.shape, "bias", bias.shape)

    # What they make of a few test digits: every layer's output, first layer first.
    images, labels = x_test[:DIGITS_SHOWN], y_test[:DIGITS_SHOWN]
    hidden, probabilities = model.layer_outputs(images)
    np.set_printoptions(precision=2, suppress=True)
    for label, units, answer in zip(labels, hidden, probabilities):
        print(f"a {label}: hidden layer {units} -> predicted {np.argmax(answer)}")

    show_figures(
        {
            "hidden_weights": lambda: plot_hidden_weights(kernel),
            "hidden_outputs": lambda: plot_layer_outputs(images, labels, hidden, probabilities),
        },
        args.plots,
    )


if __name__ == "__main__":
    main()
