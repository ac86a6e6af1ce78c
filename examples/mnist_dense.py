"""The classic Keras MNIST tutorial, on tinynet: only the word ``keras`` changed in the imports.

    python examples/mnist_dense.py                 # 5 epochs, as in the tutorial
    python examples/mnist_dense.py --epochs 45     # the tutorial's 0.90 needs about 45 epochs
    python examples/mnist_dense.py --plots out/    # save the figures as PNG files

MNIST is found through $TINYNET_DATA_DIR, Keras's or tinynet's cache, or downloaded once.
"""

import argparse
import os

import numpy as np

from tinynet.datasets import mnist
from tinynet.layers.core import Dense
from tinynet.models import Sequential
from tinynet.utils import set_random_seed, to_categorical


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training set (default 5)")
    parser.add_argument("--batch-size", type=int, default=100, help="samples per gradient step (default 100)")
    parser.add_argument("--seed", type=int, default=None, help="seed for a repeatable run")
    parser.add_argument("--plots", metavar="DIR", help="save the figures as PNG files in DIR instead of showing them")
    return parser.parse_args()


def show_figures(figures, plots_dir):
    """Save the figures to ``plots_dir``, or show them if there is a display, or skip them."""
    try:
        import matplotlib
    except ImportError:
        print("(matplotlib is not installed: no figures. pip install matplotlib)")
        return
    if plots_dir:
        matplotlib.use("Agg")
    figures = {name: make() for name, make in figures.items()}
    if plots_dir:
        os.makedirs(plots_dir, exist_ok=True)
        for name, figure in figures.items():
            path = os.path.join(plots_dir, f"{name}.png")
            figure.savefig(path, dpi=100, bbox_inches="tight")
            print(f"saved {path}")
    elif matplotlib.get_backend().lower() != "agg" and (os.environ.get("DISPLAY") or os.name == "nt"):
        import matplotlib.pyplot as plt

        plt.show()
    else:
        print("(no display: pass --plots DIR to save the figures)")


def main():
    args = parse_arguments()
    if args.seed is not None:
        set_random_seed(args.seed)

    # 1. The data: 60,000 training and 10,000 test images of 28x28 pixels.
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    print("x_train:", x_train.shape, x_train.dtype, " y_train:", y_train.shape, " x_test:", x_test.shape)
    print("y_train[8] =", y_train[8])

    # 2. Scale the pixels to [0, 1], flatten each image to 784 numbers, one-hot encode the labels.
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    x_train = x_train.reshape(60000, 784)
    x_test = x_test.reshape(10000, 784)
    y_train = to_categorical(y_train, num_classes=10)
    y_test = to_categorical(y_test, num_classes=10)
    print("y_test[0] =", y_test[0])

    # 3. The model: 10 sigmoid neurons, then 10 softmax outputs (7,960 parameters).
    model = Sequential()
    model.add(Dense(10, activation="sigmoid", input_shape=(784,)))
    model.add(Dense(10, activation="softmax"))
    model.summary()

    # 4. Learning: cross-entropy loss, stochastic gradient descent (learning rate 0.01).
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs)

    # 5. Evaluation on images the model has never seen.
    test_loss, test_acc = model.evaluate(x_test, y_test)
    print("Test accuracy:", test_acc)

    # 6. Predictions: a probability for each digit. x_test[11] is a 6, and a hard one: after 5
    #    epochs the model still spreads its bets (p = 0.14-0.17 for 6 with seeds 1-3, and seeds 1
    #    and 2 pick a 1 and a 0); after 45 epochs all three pick the 6 (p = 0.50-0.74).
    predictions = model.predict(x_test)
    print("predictions[11] =", np.round(predictions[11], 2))
    print("np.argmax(predictions[11]) =", np.argmax(predictions[11]))
    print("np.sum(predictions[11]) =", np.sum(predictions[11]))

    # 7. Which digits get confused with which (rows: true digit, columns: predicted digit).
    try:
        from sklearn.metrics import confusion_matrix
    except ImportError:
        print("(scikit-learn is not installed: no confusion matrix. pip install scikit-learn)")
    else:
        matrix = confusion_matrix(np.argmax(y_test, axis=1), np.argmax(predictions, axis=1))
        print(matrix)
        print("accuracy from the matrix:", np.trace(matrix) / np.sum(matrix))

    from tinynet import plot

    true_labels, predicted = np.argmax(y_test, axis=1), np.argmax(predictions, axis=1)
    show_figures(
        {
            "history": lambda: plot.plot_history(history),
            "confusion_matrix": lambda: plot.plot_confusion_matrix(true_labels, predicted),
            "digits": lambda: plot.show_digits(x_test[:25], true_labels[:25], predicted[:25]),
            "prediction_11": lambda: plot.show_prediction(x_test[11], predictions[11]),
        },
        args.plots,
    )


if __name__ == "__main__":
    main()
