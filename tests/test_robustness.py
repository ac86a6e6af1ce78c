"""What happens during training and saving when things go wrong: a loss that becomes NaN stops
training with a message, Ctrl-C stops at a batch boundary, a seed repeats a run bit for bit, and a
weights file is never left half-written."""

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tinynet.callbacks import Callback, LearningRateScheduler
from tinynet.layers import Dense, Dropout
from tinynet.models import Sequential
from tinynet.optimizers import SGD
from tinynet.utils import set_random_seed, to_categorical

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES, BATCH = 200, 20
STEPS = SAMPLES // BATCH  # batches per epoch


def classification_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((SAMPLES, 4), dtype=np.float32)
    return x, to_categorical(rng.integers(0, 3, SAMPLES), 3)


def classifier(optimizer="sgd"):
    model = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


class BatchRecorder(Callback):
    """Records every (epoch, batch, loss) that fit reports, and whether training ended."""

    def __init__(self):
        super().__init__()
        self.batches = []
        self.ended = False
        self.epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append((self.epoch, batch, logs["loss"]))

    def on_train_end(self, logs=None):
        self.ended = True


# --- a loss that becomes NaN or infinite --------------------------------------------------------


def explosive_run(callbacks=()):
    """Two sane epochs with SGD, then a learning rate of 1e30 from the third: the weights overflow.

    A linear output with mean squared error has nothing that bounds the loss, so it reaches inf.
    """
    set_random_seed(0)
    x, y = classification_data()
    model = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(3)])
    model.compile(optimizer=SGD(learning_rate=0.01), loss="mse")
    scheduler = LearningRateScheduler(lambda epoch, rate: 0.01 if epoch < 2 else 1e30)
    history = model.fit(x, y, batch_size=BATCH, epochs=6, verbose=0, callbacks=[scheduler, *callbacks])
    return model, history


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_non_finite_loss_stops_training_with_a_message_and_keeps_the_history(capsys):
    model, history = explosive_run()
    message = capsys.readouterr().err
    found = re.search(r"The loss became NaN or infinite at epoch 3, batch (\d+): training stopped( after batch (\d+))?",
                      message)
    assert found and "learning rate may be too high" in message
    # The two finished epochs are kept; nothing after the third ran. Without batch callbacks the
    # losses are read only now and then, so a few batches may have run on: the message says so.
    assert history.epoch == [0, 1]
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    bad_batch, last_batch = int(found[1]), int(found[3] or found[1])
    assert bad_batch <= last_batch and model.optimizer.iterations == 2 * STEPS + last_batch


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_with_batch_callbacks_training_stops_at_the_bad_batch_itself(capsys):
    recorder = BatchRecorder()
    model, history = explosive_run([recorder])
    epoch, batch, loss = recorder.batches[-1]
    # The batch that reported the non-finite loss was the last one trained, and the message names it.
    assert not np.isfinite(loss)
    assert all(np.isfinite(earlier) for _, _, earlier in recorder.batches[:-1])
    assert (epoch, model.optimizer.iterations) == (2, 2 * STEPS + batch + 1)
    assert f"at epoch 3, batch {batch + 1}:" in capsys.readouterr().err
    assert recorder.ended and history.epoch == [0, 1]


# --- Ctrl-C ---------------------------------------------------------------------------------------


class CtrlC(Callback):
    """Presses Ctrl-C (sends SIGINT to this process) after the ``at``-th batch (counting from 1)."""

    def __init__(self, at, presses=1):
        super().__init__()
        self.at, self.presses, self.seen = at, presses, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            for _ in range(self.presses):
                os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs POSIX signals")
@pytest.mark.parametrize(
    "at, finished_epochs",
    [(STEPS + 4, 1), (STEPS, 1), (1, 0)],
    ids=["mid-epoch", "last-batch-of-an-epoch", "first-batch"],
)
def test_ctrl_c_stops_at_a_batch_boundary_and_keeps_the_model_usable(at, finished_epochs, capsys):
    set_random_seed(0)
    x, y = classification_data()
    model = classifier()
    handler_before = signal.getsignal(signal.SIGINT)
    recorder = BatchRecorder()
    history = model.fit(x, y, batch_size=BATCH, epochs=5, verbose=0, callbacks=[CtrlC(at), recorder])

    # Training stopped right after the batch in which Ctrl-C came; every finished epoch is kept.
    assert model.optimizer.iterations == at == len(recorder.batches)
    assert history.epoch == list(range(finished_epochs)) and model.history is history
    assert len(history.history.get("loss", [])) == finished_epochs
    assert recorder.ended
    if at % STEPS:
        assert f"Training stopped at epoch {finished_epochs + 1}, batch {at % STEPS}." in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is handler_before

    # The model is consistent and usable: it predicts, evaluates, and trains on.
    predictions = model.predict(x)
    assert np.isfinite(predictions).all()
    np.testing.assert_allclose(predictions.sum(axis=1), 1, rtol=1e-5)
    assert np.isfinite(model.evaluate(x, y, verbose=0)).all()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    assert model.optimizer.iterations == at + STEPS


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs POSIX signals")
def test_a_second_ctrl_c_interrupts_at_once():
    x, y = classification_data()
    model = classifier()
    handler_before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=BATCH, epochs=5, verbose=0, callbacks=[CtrlC(3, presses=2)])
    assert signal.getsignal(signal.SIGINT) is handler_before
    assert model.optimizer.iterations == 3


CHILD_TRAINER = textwrap.dedent("""
    import json, sys
    import numpy as np
    from tinynet.callbacks import Callback
    from tinynet.layers import Dense
    from tinynet.models import Sequential
    from tinynet.utils import to_categorical

    class Started(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations == 50:
                print("training", flush=True)

    rng = np.random.default_rng(0)
    x = rng.random((200, 4), dtype=np.float32)
    y = to_categorical(rng.integers(0, 3, 200), 3)
    model = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    history = model.fit(x, y, batch_size=20, epochs=100000, verbose=0, callbacks=[Started()])
    predictions = model.predict(x)
    print(json.dumps({
        "iterations": model.optimizer.iterations,
        "epochs": len(history.epoch),
        "losses_finite": bool(np.isfinite(history.history.get("loss", [])).all()),
        "predictions_finite": bool(np.isfinite(predictions).all()),
    }), flush=True)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs POSIX signals")
def test_ctrl_c_from_outside_ends_fit_cleanly_in_a_child_process():
    import json

    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_TRAINER], env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline() == "training\n"
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, stderr
    report = json.loads(stdout)
    assert 50 <= report["iterations"] < 100000 * 10
    assert report["epochs"] == report["iterations"] // 10  # the epochs finished before the Ctrl-C
    assert report["losses_finite"] and report["predictions_finite"]
    assert "Training stopped at epoch" in stderr or report["iterations"] % 10 == 0


# --- the same seed gives the same run ---------------------------------------------------------------


def seeded_run(seed):
    set_random_seed(seed)
    x, y = classification_data()
    model = Sequential([
        Dense(16, activation="relu", input_shape=(4,)),
        Dropout(0.3),
        Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=True, verbose=0, validation_split=0.1)
    return model.get_weights(), history.history


def test_the_same_seed_repeats_a_run_bit_for_bit(array_backend):
    first_weights, first_history = seeded_run(7)
    second_weights, second_history = seeded_run(7)
    for first, second in zip(first_weights, second_weights, strict=True):
        assert first.tobytes() == second.tobytes()
    assert first_history == second_history
    # A different seed gives a different run, so the comparison above is not vacuous.
    other_weights, _ = seeded_run(8)
    assert any(a.tobytes() != b.tobytes() for a, b in zip(first_weights, other_weights))


def test_shuffling_follows_the_seed_and_changes_the_result():
    def run(shuffle):
        set_random_seed(3)
        x, y = classification_data()
        model = classifier()
        model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=shuffle, verbose=0)
        return model.get_weights()

    shuffled, again, in_order = run(True), run(True), run(False)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(shuffled, again))
    assert any(a.tobytes() != b.tobytes() for a, b in zip(shuffled, in_order))


# --- weights files ----------------------------------------------------------------------------------


def test_a_weights_file_names_each_layer_and_keeps_each_shape(tmp_path):
    model = classifier()
    path = tmp_path / "model.weights.npz"
    model.save_weights(path)
    first, second = (layer.name for layer in model.layers)
    with np.load(path) as saved:
        shapes = {key: saved[key].shape for key in saved.files}
    assert shapes == {f"000:{first}:0": (4, 8), f"000:{first}:1": (8,), f"001:{second}:0": (8, 3),
                      f"001:{second}:1": (3,)}


# The child saves a ~25 MB model once ("old"), then changes every weight and saves again, slowly:
# it reports each array written to the new file and pauses, so the parent can stop it midway.
CHILD_SAVER = textwrap.dedent("""
    import sys, time
    import numpy.lib.format as npy_format
    from tinynet.layers import Dense
    from tinynet.models import Sequential
    from tinynet.utils import set_random_seed

    set_random_seed(1)
    model = Sequential([Dense(1024, input_shape=(1024,))] + [Dense(1024) for _ in range(5)])
    model.save_weights(sys.argv[1])
    model.set_weights([w + 1 for w in model.get_weights()])

    write_array = npy_format.write_array
    def reported_write_array(*args, **kwargs):
        write_array(*args, **kwargs)
        print("wrote an array", flush=True)
        time.sleep(0.2)
    npy_format.write_array = reported_write_array
    model.save_weights(sys.argv[1])
    print("saved", flush=True)
""")


def big_model():
    set_random_seed(1)
    return Sequential([Dense(1024, input_shape=(1024,))] + [Dense(1024) for _ in range(5)])


def temporary_files(directory):
    return sorted(p for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGINT], ids=["killed", "ctrl-c"])
def test_a_save_weights_stopped_midway_leaves_the_previous_file_loadable(tmp_path, signal_number):
    target = tmp_path / "big.weights.npz"
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_SAVER, str(target)], env=environment, stdout=subprocess.PIPE, text=True
    )
    try:
        # Stop it once 3 of the 12 arrays are in the new file (6 kernels of 4 MB, 6 biases).
        for _ in range(3):
            assert child.stdout.readline() == "wrote an array\n"
        child.send_signal(signal_number)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode != 0

    model = big_model()
    original = model.get_weights()
    model.set_weights([np.zeros_like(w) for w in original])
    model.load_weights(target)  # the old file, whole
    for loaded, expected in zip(model.get_weights(), original, strict=True):
        np.testing.assert_array_equal(loaded, expected)

    leftovers = temporary_files(tmp_path)
    if signal_number == signal.SIGINT:
        assert leftovers == []  # KeyboardInterrupt let save_weights remove its temporary file
    else:
        # SIGKILL leaves the half-written temporary file; loading it is refused and changes nothing.
        (half,) = leftovers
        with pytest.raises(ValueError, match="not a weights file"):
            model.load_weights(half)
        for kept, expected in zip(model.get_weights(), original, strict=True):
            np.testing.assert_array_equal(kept, expected)
