"""Where tinynet's time goes: cProfile of one epoch of ``fit`` and of ``predict`` on the tutorial MLP.

    TINYNET_DATA_DIR=/path/to/mnist python benchmarks/profile_tinynet.py [--top 25]

One untimed epoch first (so one-off costs are not counted), then one profiled ``fit(epochs=1)``
and ten profiled ``predict(x_test)`` calls, each listed by the time spent inside each function
itself (tottime) and including what it calls (cumtime).
"""
import argparse
import cProfile
import io
import pstats
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from tinynet.layers import Dense  # noqa: E402
from tinynet.models import Sequential  # noqa: E402
from tinynet.utils import set_random_seed  # noqa: E402
from worker import prepare  # noqa: E402


def profile(call, top):
    profiler = cProfile.Profile()
    profiler.runcall(call)
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(top)
        print(text.getvalue())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=25, help="how many functions to list (default 25)")
    top = parser.parse_args().top
    data = prepare("mlp", None)
    set_random_seed(0)
    model = Sequential()
    model.add(Dense(10, activation="sigmoid", input_shape=(784,)))
    model.add(Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])

    def one_epoch():
        model.fit(data.x_train, data.onehot_train, batch_size=100, epochs=1, verbose=0)

    def ten_predicts():
        for _ in range(10):
            model.predict(data.x_test)

    one_epoch()
    print("=== fit, one epoch of the tutorial MLP (batch 100) ===")
    profile(one_epoch, top)
    print("=== predict on the 10,000 test images, 10 calls ===")
    profile(ten_predicts, top)


if __name__ == "__main__":
    main()
