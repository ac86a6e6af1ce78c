"""The book's convolutional network for MNIST, on tinynet: about 97% test accuracy in 5 epochs.

    python examples/mnist_cnn.py                  # 5 epochs of SGD, batches of 100, as in the book
    python examples/mnist_cnn.py --epochs 1       # a quicker look

Two convolution + max-pooling stages learn local features (strokes, then parts of digits); a
softmax layer reads the digit from them. MNIST is found through $TINYNET_DATA_DIR, Keras's or
tinynet's cache, or downloaded once.
"""

import argparse
import time

from tinynet.datasets import mnist
from tinynet.layers import Conv2D, Dense, Flatten, MaxPooling2D
from tinynet.models import Sequential
from tinynet.utils import set_random_seed, to_categorical


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training set (default 5)")
    parser.add_argument("--batch-size", type=int, default=100, help="samples per gradient step (default 100)")
    parser.add_argument("--seed", type=int, default=None, help="seed for a repeatable run")
    return parser.parse_args()


def main():
    args = parse_arguments()
    if args.seed is not None:
        set_random_seed(args.seed)

    # 1. The data, as images with one channel: (n, 28, 28, 1), pixels scaled to [0, 1].
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train = x_train.reshape(60000, 28, 28, 1).astype("float32") / 255
    x_test = x_test.reshape(10000, 28, 28, 1).astype("float32") / 255
    y_train = to_categorical(y_train, num_classes=10)
    y_test = to_categorical(y_test, num_classes=10)

    # 2. The model: 32 then 64 filters of 5x5, each followed by 2x2 max-pooling (62,346 parameters).
    model = Sequential()
    model.add(Conv2D(32, (5, 5), activation="relu", input_shape=(28, 28, 1)))
    model.add(MaxPooling2D((2, 2)))
    model.add(Conv2D(64, (5, 5), activation="relu"))
    model.add(MaxPooling2D((2, 2)))
    model.add(Flatten())
    model.add(Dense(10, activation="softmax"))
    model.summary()

    # 3. Learning: cross-entropy loss, stochastic gradient descent (learning rate 0.01).
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs)
    seconds = time.perf_counter() - start
    print(f"Training took {seconds:.0f} s, {seconds / args.epochs:.1f} s per epoch.")

    # 4. Evaluation on images the model has never seen.
    test_loss, test_acc = model.evaluate(x_test, y_test)
    print("Test accuracy:", test_acc)


if __name__ == "__main__":
    main()
