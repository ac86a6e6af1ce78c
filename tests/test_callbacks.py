"""Callbacks: the order fit calls the hooks in, EarlyStopping, LearningRateScheduler,
ModelCheckpoint and TerminateOnNaN, each on a case whose right answer is known in advance."""

import math

import numpy as np
import pytest

from tinynet.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from tinynet.layers import Dense
from tinynet.models import Sequential
from tinynet.optimizers import SGD
from tinynet.utils import set_random_seed

rng = np.random.default_rng(7)
X = rng.normal(size=(12, 3)).astype(np.float32)
Y = (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype(np.float32)


def linear_model(learning_rate=0.05):
    set_random_seed(0)
    model = Sequential([Dense(1, input_shape=(3,))])
    model.compile(optimizer=SGD(learning_rate=learning_rate), loss="mse")
    return model


class Recorder(Callback):
    """Writes the made-up value ``values[epoch]`` of ``name`` into each epoch's logs (so a callback
    listed after it sees a monitored quantity we chose) and keeps the weights of every epoch."""

    def __init__(self, values=None, name="score"):
        super().__init__()
        self.values, self.name = values, name
        self.logs_added = () if values is None else (name,)
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        if self.values is not None:
            logs[self.name] = self.values[epoch]
        self.weights.append(self.model.get_weights())


def assert_weights_equal(got, expected):
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g, e)


# --- the hooks ---------------------------------------------------------------------------------


def test_hooks_are_called_in_kerass_order(array_backend):
    class Log(Callback):
        def __init__(self):
            super().__init__()
            self.calls = []

        def on_train_begin(self, logs=None):
            self.calls.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            self.calls.append(f"epoch_begin {epoch}")

        def on_train_batch_begin(self, batch, logs=None):
            self.calls.append(f"batch_begin {batch}")

        def on_train_batch_end(self, batch, logs=None):
            self.calls.append(f"batch_end {batch}")
            assert math.isfinite(logs["loss"])

        def on_test_begin(self, logs=None):
            self.calls.append("test_begin")

        def on_test_end(self, logs=None):
            self.calls.append("test_end")
            self.test_logs = logs

        def on_epoch_end(self, epoch, logs=None):
            self.calls.append(f"epoch_end {epoch}")
            self.last_logs = dict(logs)

        def on_train_end(self, logs=None):
            self.calls.append("train_end")
            self.end_logs = logs

    log = Log()
    model = Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    y = np.eye(2, dtype=np.float32)[(X[:, 0] > 0).astype(int)]
    model.fit(X, y, batch_size=4, epochs=2, verbose=0, validation_split=0.25, callbacks=[log])
    batches = ["batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1", "batch_begin 2", "batch_end 2"]
    assert log.calls == [
        "train_begin",
        "epoch_begin 0", *batches, "test_begin", "test_end", "epoch_end 0",
        "epoch_begin 1", *batches, "test_begin", "test_end", "epoch_end 1",
        "train_end",
    ]  # 9 training samples in batches of 4: 4 + 4 + 1
    assert list(log.last_logs) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert log.test_logs == {"loss": log.last_logs["val_loss"], "accuracy": log.last_logs["val_accuracy"]}
    assert log.end_logs == log.last_logs  # Keras 3 ends training with the last epoch's logs
    assert log.model is model
    assert log.params["epochs"] == 2 and log.params["steps"] == 3 and log.params["samples"] == 9


class EveryHook(Callback):
    """Records each hook called, with its batch, and the logs of the last call of each hook."""

    def __init__(self):
        super().__init__()
        self.calls, self.logs = [], {}

    def _record(self, hook, logs, batch=None):
        self.calls.append(hook if batch is None else f"{hook} {batch}")
        self.logs.setdefault(hook, []).append(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._record("epoch_begin", logs)

    def on_epoch_end(self, epoch, logs=None):
        self._record("epoch_end", logs)

    def on_test_begin(self, logs=None):
        self._record("test_begin", logs)

    def on_test_end(self, logs=None):
        self._record("test_end", logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._record("test_batch_begin", logs, batch)

    def on_test_batch_end(self, batch, logs=None):
        self._record("test_batch_end", logs, batch)

    def on_predict_begin(self, logs=None):
        self._record("predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._record("predict_end", logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._record("predict_batch_begin", logs, batch)

    def on_predict_batch_end(self, batch, logs=None):
        self._record("predict_batch_end", logs, batch)


def classifier():
    set_random_seed(0)
    model = Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


LABELS = (X[:, 0] > 0).astype(np.int64)


# The order and the logs' keys below are what Keras 3.15 calls (JAX and TensorFlow backends alike)
# on a callback overriding every hook, for the same calls on a same-shaped model and data.
def test_fit_validates_batch_by_batch_with_the_test_batch_hooks(array_backend):
    hooks = EveryHook()
    classifier().fit(X, LABELS, batch_size=2, epochs=1, verbose=0, validation_split=0.5, callbacks=[hooks])
    validation = ["test_batch_begin 0", "test_batch_end 0", "test_batch_begin 1", "test_batch_end 1",
                  "test_batch_begin 2", "test_batch_end 2"]  # 6 held-out rows in fit's batches of 2
    assert hooks.calls == ["epoch_begin", "test_begin", *validation, "test_end", "epoch_end"]
    assert hooks.logs["test_batch_begin"] == [{}, {}, {}]
    # running means: at the last batch, the validation values themselves
    assert hooks.logs["test_batch_end"][-1] == hooks.logs["test_end"][0]
    epoch_logs = hooks.logs["epoch_end"][0]
    assert hooks.logs["test_end"][0] == {"loss": epoch_logs["val_loss"], "accuracy": epoch_logs["val_accuracy"]}


def test_evaluate_calls_the_test_hooks_with_the_running_means(array_backend):
    model = classifier()
    hooks = EveryHook()
    values = model.evaluate(X, LABELS, batch_size=5, verbose=0, callbacks=[hooks], return_dict=True)
    assert hooks.calls == ["test_begin", "test_batch_begin 0", "test_batch_end 0", "test_batch_begin 1",
                           "test_batch_end 1", "test_batch_begin 2", "test_batch_end 2", "test_end"]
    assert hooks.logs["test_begin"] == [{}] and hooks.logs["test_end"] == [values]
    first, after_two, last = hooks.logs["test_batch_end"]
    assert first == pytest.approx(model.evaluate(X[:5], LABELS[:5], verbose=0, return_dict=True))
    assert after_two == pytest.approx(model.evaluate(X[:10], LABELS[:10], verbose=0, return_dict=True))
    assert last == values
    assert hooks.model is model and hooks.params == {"verbose": 0, "epochs": 1, "steps": 3}


def test_predict_hands_each_batchs_outputs_to_the_callbacks(array_backend):
    model = classifier()
    hooks = EveryHook()
    x = np.tile(X, (6, 1))  # 72 rows: Keras's default batches of 32, 32 and 8
    predictions = model.predict(x, verbose=0, callbacks=[hooks])
    assert hooks.calls == ["predict_begin", "predict_batch_begin 0", "predict_batch_end 0", "predict_batch_begin 1",
                           "predict_batch_end 1", "predict_batch_begin 2", "predict_batch_end 2", "predict_end"]
    assert hooks.logs["predict_begin"] == hooks.logs["predict_end"] == [{}]
    assert hooks.logs["predict_batch_begin"] == [{}, {}, {}]
    outputs = [logs["outputs"] for logs in hooks.logs["predict_batch_end"]]
    assert [len(batch) for batch in outputs] == [32, 32, 8] and all(type(b) is np.ndarray for b in outputs)
    np.testing.assert_array_equal(np.concatenate(outputs), predictions)
    assert hooks.params["steps"] == 3


def test_evaluate_and_predict_refuse_what_is_not_a_list_of_callbacks():
    model = classifier()
    for bad in (EveryHook(), ["not a callback"]):
        with pytest.raises(TypeError, match="callbacks must be"):
            model.evaluate(X, LABELS, verbose=0, callbacks=bad)
        with pytest.raises(TypeError, match="callbacks must be"):
            model.predict(X, callbacks=bad)


def test_a_batch_callback_sees_the_epochs_running_means_as_in_keras_3():
    """Each batch's logs hold the means over the epoch's batches so far, weighted by their sizes:
    the first batch's own loss, and at the last batch the epoch's loss that History records."""
    class BatchLosses(Callback):
        def __init__(self):
            super().__init__()
            self.losses = []

        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(logs["loss"])

    model = linear_model()
    own = []
    weights = model.get_weights()
    for start in range(0, 12, 5):  # the batches fit will take, unshuffled: 5, 5 and 2 samples
        own.append(model.test_on_batch(X[start:start + 5], Y[start:start + 5]))
        model.train_on_batch(X[start:start + 5], Y[start:start + 5])
    model.set_weights(weights)
    seen = BatchLosses()
    history = model.fit(X, Y, batch_size=5, epochs=1, shuffle=False, verbose=0, callbacks=[seen])
    running = np.cumsum(np.multiply(own, [5, 5, 2])) / np.cumsum([5, 5, 2])
    np.testing.assert_allclose(seen.losses, running, rtol=1e-5)
    assert seen.losses[-1] == history.history["loss"][0] and seen.losses[1] != pytest.approx(own[1])


def test_kerass_older_batch_hook_names_are_called_too():
    class OldStyle(Callback):
        def __init__(self):
            super().__init__()
            self.begun, self.ended = [], []

        def on_batch_begin(self, batch, logs=None):
            self.begun.append(batch)

        def on_batch_end(self, batch, logs=None):
            self.ended.append(logs["loss"])

    old_style = OldStyle()
    linear_model().fit(X, Y, batch_size=5, epochs=2, verbose=0, callbacks=[old_style])
    assert old_style.begun == [0, 1, 2, 0, 1, 2]
    assert len(old_style.ended) == 6 and all(math.isfinite(loss) for loss in old_style.ended)


def test_callbacks_must_be_callback_objects():
    with pytest.raises(TypeError, match="Callback objects"):
        linear_model().fit(X, Y, verbose=0, callbacks=[lambda epoch, logs: None])


# --- EarlyStopping -----------------------------------------------------------------------------


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    # Best at epoch 1; epochs 2 and 3 do not beat it, so patience=2 runs out at epoch 3.
    recorder = Recorder([3.0, 2.0, 2.5, 2.2, 1.0, 1.0])
    stopper = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    model = linear_model()
    history = model.fit(X, Y, epochs=6, verbose=0, callbacks=[recorder, stopper])
    assert history.epoch == [0, 1, 2, 3]
    assert stopper.stopped_epoch == 3 and stopper.best_epoch == 1 and stopper.best == 2.0
    assert_weights_equal(model.get_weights(), recorder.weights[1])
    assert not np.array_equal(recorder.weights[1][0], recorder.weights[3][0])


def test_early_stopping_without_restore_keeps_the_last_weights():
    recorder = Recorder([3.0, 2.0, 2.5, 2.2])
    model = linear_model()
    model.fit(X, Y, epochs=4, verbose=0, callbacks=[recorder, EarlyStopping(monitor="score", patience=1)])
    assert len(recorder.weights) == 3  # stopped at epoch 2, the first that did not improve
    assert_weights_equal(model.get_weights(), recorder.weights[2])


def test_early_stopping_restores_the_best_weights_even_when_it_never_stops():
    # Keras 3 restores at the end of training, whether or not patience ran out.
    recorder = Recorder([3.0, 1.0, 2.0])
    model = linear_model()
    stopper = EarlyStopping(monitor="score", patience=5, restore_best_weights=True)
    history = model.fit(X, Y, epochs=3, verbose=0, callbacks=[recorder, stopper])
    assert len(history.epoch) == 3 and stopper.stopped_epoch == 0
    assert_weights_equal(model.get_weights(), recorder.weights[1])


def test_early_stopping_on_a_validation_loss_that_rises():
    # Validation targets of the opposite sign: every step towards Y moves away from them, so
    # val_loss rises from the first epoch on and the best weights are those of epoch 0.
    model = linear_model()
    recorder = Recorder()
    stopper = EarlyStopping(patience=1, restore_best_weights=True)  # monitors val_loss
    history = model.fit(X, Y, epochs=10, verbose=0, validation_data=(X, -Y), callbacks=[recorder, stopper])
    val_losses = history.history["val_loss"]
    assert len(val_losses) == 2 and val_losses[1] > val_losses[0]
    assert_weights_equal(model.get_weights(), recorder.weights[0])
    assert model.evaluate(X, -Y, verbose=0) == pytest.approx(val_losses[0], rel=1e-5)


def test_early_stopping_min_delta_counts_small_gains_as_no_improvement():
    scores = [1.0, 0.99, 0.98, 0.97, 0.96]
    short = linear_model().fit(
        X, Y, epochs=5, verbose=0, callbacks=[Recorder(scores), EarlyStopping("score", min_delta=0.05, patience=2)]
    )
    assert short.epoch == [0, 1, 2]
    full = linear_model().fit(X, Y, epochs=5, verbose=0, callbacks=[Recorder(scores), EarlyStopping("score", patience=2)])
    assert full.epoch == [0, 1, 2, 3, 4]


def test_early_stopping_never_stops_while_the_value_improves_even_above_the_baseline():
    """As in Keras 3: an improvement that does not beat the baseline does not restart the count
    of patience, but it does not stop training either."""
    falling = [1.0, 0.9, 0.8, 0.7, 0.6, 0.55, 0.52, 0.4]
    stopper = EarlyStopping("score", patience=2, baseline=0.5)
    history = linear_model().fit(X, Y, epochs=8, verbose=0, callbacks=[Recorder(falling), stopper])
    assert history.epoch == list(range(8)) and stopper.best_epoch == 7
    flat = [1.0, 0.9, 0.9, 0.9, 0.9]  # then it stops, patience epochs after the count began
    stopper = EarlyStopping("score", patience=2, baseline=0.5)
    stopped = linear_model().fit(X, Y, epochs=5, verbose=0, callbacks=[Recorder(flat), stopper])
    assert stopped.epoch == [0, 1, 2]


def test_early_stopping_maximises_accuracies_and_obeys_mode():
    rising = [0.5, 0.6, 0.7, 0.8]
    assert EarlyStopping(monitor="val_accuracy").mode == "max"
    assert EarlyStopping(monitor="val_loss").mode == "min"
    kept_going = linear_model().fit(
        X, Y, epochs=4, verbose=0, callbacks=[Recorder(rising, "val_accuracy"), EarlyStopping("val_accuracy")]
    )
    assert len(kept_going.epoch) == 4
    stopped = linear_model().fit(
        X, Y, epochs=4, verbose=0, callbacks=[Recorder(rising), EarlyStopping("score", mode="min")]
    )
    assert len(stopped.epoch) == 2
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max'"):
        EarlyStopping(mode="lowest")


def test_early_stopping_says_what_it_did(capsys):
    stopper = EarlyStopping(monitor="score", patience=1, restore_best_weights=True, verbose=1)
    linear_model().fit(X, Y, epochs=5, verbose=0, callbacks=[Recorder([1.0, 0.5, 0.7, 0.8, 0.9]), stopper])
    out = capsys.readouterr().out
    assert "Epoch 3: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 2." in out


def test_early_stopping_on_a_quantity_fit_does_not_log_explains_before_training():
    model = linear_model()
    weights = model.get_weights()
    with pytest.raises(ValueError, match="monitors 'val_loss', which fit will not log.*validation_split"):
        model.fit(X, Y, epochs=2, verbose=0, callbacks=[EarlyStopping()])
    assert_weights_equal(model.get_weights(), weights)
    assert model.optimizer.iterations == 0


def test_a_nan_is_never_the_best_epoch(tmp_path):
    """A metric that is NaN in its first epoch (a precision with no positive prediction yet) must
    not become the best: every comparison with NaN is False, so nothing would ever beat it."""
    recorder = Recorder([math.nan, 2.0, 3.0, 2.5], name="precision")
    stopping = EarlyStopping(monitor="precision", mode="max", patience=1, restore_best_weights=True)
    checkpoint = ModelCheckpoint(str(tmp_path / "best.{epoch}.npz"), monitor="precision", mode="max",
                                 save_best_only=True)
    model = linear_model()
    history = model.fit(X, Y, epochs=4, verbose=0, callbacks=[recorder, stopping, checkpoint])
    assert len(history.epoch) == 4 and stopping.best == 3.0 and stopping.best_epoch == 2
    assert_weights_equal(model.get_weights(), recorder.weights[2])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.2.npz", "best.3.npz"]


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        ({"patience": "2"}, TypeError, "patience must be an integer; got '2'"),
        ({"patience": -1}, ValueError, "patience must be an integer >= 0; got -1"),
        ({"baseline": "0.5"}, TypeError, "baseline must be a finite number or None; got '0.5'"),
        ({"min_delta": math.nan}, TypeError, "min_delta must be a finite number; got nan"),
        ({"monitor": None}, TypeError, "monitor must be the name of a logged value"),
    ],
)
def test_early_stopping_arguments_are_checked_when_it_is_made(arguments, error, message):
    with pytest.raises(error, match=message):
        EarlyStopping(**arguments)


# --- LearningRateScheduler ---------------------------------------------------------------------


class RateSeen(Callback):
    """The optimizer's learning rate at each epoch's first batch."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.rates.append(self.model.optimizer.learning_rate)


def test_learning_rate_scheduler_sets_the_rate_of_each_epoch():
    seen = RateSeen()
    scheduler = LearningRateScheduler(lambda epoch, rate: 0.1 * 0.5**epoch)
    history = linear_model().fit(X, Y, batch_size=4, epochs=4, verbose=0, callbacks=[scheduler, seen])
    assert seen.rates == [0.1, 0.05, 0.025, 0.0125]
    assert history.history["learning_rate"] == [0.1, 0.05, 0.025, 0.0125]


def test_learning_rate_scheduler_passes_the_current_rate_and_accepts_the_epoch_alone():
    seen = RateSeen()
    halve = LearningRateScheduler(lambda epoch, rate: rate / 2)
    linear_model(learning_rate=0.08).fit(X, Y, epochs=3, verbose=0, callbacks=[halve, seen])
    assert seen.rates == [0.04, 0.02, 0.01]
    seen = RateSeen()
    by_epoch = LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))
    linear_model().fit(X, Y, epochs=4, initial_epoch=2, verbose=0, callbacks=[by_epoch, seen])
    assert seen.rates == pytest.approx([0.03, 0.04])  # initial_epoch=2: epochs 2 and 3


def test_the_scheduled_rate_is_the_one_the_step_uses():
    # One batch per epoch on w = 0: the step of epoch 0 is -lr_0 * dL/dw, then -lr_1 * dL/dw at w_1.
    model = Sequential([Dense(1, use_bias=False, kernel_initializer="zeros", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    rates = [0.1, 0.02]
    model.fit(X, Y, batch_size=len(X), epochs=2, shuffle=False, verbose=0,
              callbacks=[LearningRateScheduler(lambda epoch, rate: rates[epoch])])
    x, y = X.astype(np.float64), Y.astype(np.float64)
    w = np.zeros((3, 1))
    for rate in rates:
        w = w - rate * 2 * x.T @ (x @ w - y) / len(x)  # d/dw of mean((x w - y)^2)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5)


@pytest.mark.parametrize("bad", [0.0, -0.1, None, "0.1", float("inf"), float("nan")])
def test_learning_rate_scheduler_refuses_a_bad_rate(bad):
    model = linear_model(learning_rate=0.05)
    with pytest.raises(ValueError, match="positive, finite learning rate; got .* for epoch 0"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda epoch, rate: bad)])
    assert model.optimizer.learning_rate == 0.05


def test_learning_rate_scheduler_takes_numpy_numbers_and_one_argument_schedules():
    model = linear_model(learning_rate=0.05)
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda epoch, rate: np.int64(1))])
    assert model.optimizer.learning_rate == 1.0
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda epoch: np.float32(0.5))])
    assert model.optimizer.learning_rate == 0.5


def test_a_type_error_inside_a_schedule_is_the_schedules_own():
    def schedule(epoch, rate):
        return rate * "2"  # the learner's bug, which must not be taken for a one-argument schedule

    with pytest.raises(TypeError, match="can't multiply sequence"):
        linear_model().fit(X, Y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(schedule)])


def test_learning_rate_scheduler_verbose(capsys):
    linear_model().fit(X, Y, epochs=2, verbose=0, callbacks=[LearningRateScheduler(lambda e, r: 0.01, verbose=1)])
    assert "Epoch 2: LearningRateScheduler setting learning rate to 0.01." in capsys.readouterr().out


# --- ModelCheckpoint ---------------------------------------------------------------------------


def test_model_checkpoint_fills_the_file_name_from_the_epoch_and_the_logs(tmp_path):
    recorder = Recorder()
    checkpoint = ModelCheckpoint(str(tmp_path / "weights.{epoch:02d}-{loss:.4f}.npz"), monitor="loss")
    model = linear_model()
    history = model.fit(X, Y, epochs=3, verbose=0, callbacks=[recorder, checkpoint])
    expected = [f"weights.{epoch + 1:02d}-{loss:.4f}.npz" for epoch, loss in enumerate(history.history["loss"])]
    assert sorted(p.name for p in tmp_path.iterdir()) == expected  # and no temporary file left
    for name, weights in zip(expected, recorder.weights):
        restored = linear_model()
        restored.load_weights(str(tmp_path / name))
        assert_weights_equal(restored.get_weights(), weights)


def test_model_checkpoint_save_best_only(tmp_path):
    recorder = Recorder([2.0, 3.0, 1.0, 1.5])
    path = tmp_path / "best.npz"
    model = linear_model()
    model.fit(X, Y, epochs=4, verbose=0,
              callbacks=[recorder, ModelCheckpoint(str(path), monitor="score", save_best_only=True)])
    best = linear_model()
    best.load_weights(str(path))
    assert_weights_equal(best.get_weights(), recorder.weights[2])
    # With the epoch in the name, only the improving epochs (1 and 3, counting from 1) write a file.
    named = ModelCheckpoint(str(tmp_path / "e{epoch}.npz"), monitor="score", save_best_only=True)
    linear_model().fit(X, Y, epochs=4, verbose=0, callbacks=[Recorder([2.0, 3.0, 1.0, 1.5]), named])
    assert sorted(p.name for p in tmp_path.glob("e*.npz")) == ["e1.npz", "e3.npz"]
    # An accuracy is maximised.
    assert ModelCheckpoint("a.npz", monitor="val_accuracy").mode == "max"


def test_model_checkpoint_writes_atomically(tmp_path, monkeypatch):
    """A save that fails half-way (a full disk) leaves the previous checkpoint whole."""
    recorder = Recorder()
    path = tmp_path / "latest.npz"

    class FailSecondSave(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                def write_half_then_fail(file, array, **kwargs):
                    file.write(b"\x93NUMPY half an array")
                    raise OSError("No space left on device")

                monkeypatch.setattr(np.lib.format, "write_array", write_half_then_fail)

    model = linear_model()
    with pytest.raises(OSError, match="No space left"):
        model.fit(X, Y, epochs=3, verbose=0, callbacks=[FailSecondSave(), recorder, ModelCheckpoint(str(path))])
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["latest.npz"]
    restored = linear_model()
    restored.load_weights(str(path))
    assert_weights_equal(restored.get_weights(), recorder.weights[0])


def test_model_checkpoint_names_a_field_fit_does_not_log_before_training(tmp_path):
    checkpoint = ModelCheckpoint(str(tmp_path / "w-{val_loss:.2f}.npz"))
    model = linear_model()
    with pytest.raises(ValueError, match="cannot fill 'val_loss'.*available are epoch, loss"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[checkpoint])
    assert model.optimizer.iterations == 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name, message",
    [
        ("w.{loss:d}.npz", r"cannot fill filepath .*w.\{loss:d\}.npz.*Unknown format code 'd'"),
        ("w.{}.npz", "cannot fill '' in filepath"),
        ("folder/", "names a folder; add a file name"),
        ("taken/w.npz", "taken' is not a folder it may write in"),
    ],
)
def test_a_file_name_that_cannot_be_written_is_refused_before_training(tmp_path, name, message):
    (tmp_path / "taken").write_text("a file, not a folder")
    model = linear_model()
    weights = model.get_weights()
    with pytest.raises(ValueError, match=message):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(f"{tmp_path}/{name}", monitor="loss")])
    assert model.optimizer.iterations == 0 and model.history is None
    assert_weights_equal(model.get_weights(), weights)


def test_model_checkpoint_makes_the_folders_of_its_path_as_keras_does(tmp_path):
    path = tmp_path / "runs" / "{epoch}" / "model.npz"
    linear_model().fit(X, Y, epochs=2, verbose=0, callbacks=[ModelCheckpoint(str(path), save_weights_only=True)])
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.npz")) == [
        "runs/1/model.npz", "runs/2/model.npz"]


def test_model_checkpoint_verbose(tmp_path, capsys):
    path = tmp_path / "w.npz"
    linear_model().fit(X, Y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(str(path), verbose=1)])
    assert f"Epoch 1: saving model to {path}" in capsys.readouterr().out


# --- TerminateOnNaN ----------------------------------------------------------------------------


class FakeModel:
    stop_training = False


@pytest.mark.parametrize("loss, stops", [(float("nan"), True), (float("inf"), True), (1.5, False)])
def test_terminate_on_nan_stops_on_a_non_finite_batch_loss(loss, stops, capsys):
    callback = TerminateOnNaN()
    callback.set_model(FakeModel())
    callback.on_train_batch_end(4, {"loss": loss})
    assert callback.model.stop_training is stops
    assert ("Batch 4: Invalid loss, terminating training" in capsys.readouterr().out) is stops


def test_terminate_on_nan_in_fit(capsys):
    class Batches(Callback):
        def __init__(self):
            super().__init__()
            self.seen = 0

        def on_train_batch_end(self, batch, logs=None):
            self.seen += 1

    # A learning rate of 1e3 on inputs of size 1e3 overflows float32 within a few steps.
    model = linear_model(learning_rate=1e3)
    counter = Batches()
    with np.errstate(over="ignore", invalid="ignore"):
        history = model.fit(X * 1e3, Y, batch_size=1, epochs=5, verbose=0, callbacks=[TerminateOnNaN(), counter])
    assert model.stop_training and counter.seen < len(X)
    assert history.epoch == []  # the first epoch never finished
    assert "Invalid loss, terminating training" in capsys.readouterr().out


# --- ReduceLROnPlateau, CSVLogger, LambdaCallback ------------------------------------------------


def test_reduce_lr_on_plateau_follows_kerass_count_of_patience_and_cooldown():
    """Worked by hand from Keras 3's rule, with patience 2, cooldown 1, factor 0.5: the rate halves
    after two epochs without improvement, then the count waits one epoch."""
    scores = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    seen = RateSeen()
    reducer = ReduceLROnPlateau("score", factor=0.5, patience=2, cooldown=1)
    history = linear_model(learning_rate=0.05).fit(X, Y, epochs=7, verbose=0,
                                                   callbacks=[Recorder(scores), reducer, seen])
    assert seen.rates == history.history["learning_rate"] == [0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125]
    floor = ReduceLROnPlateau("score", factor=0.5, patience=2, min_lr=0.03)
    history = linear_model(learning_rate=0.05).fit(X, Y, epochs=7, verbose=0, callbacks=[Recorder(scores), floor])
    assert history.history["learning_rate"] == [0.05, 0.05, 0.05, 0.03, 0.03, 0.03, 0.03]


def test_reduce_lr_on_plateau_arguments_and_monitor_are_checked_before_training():
    with pytest.raises(ValueError, match=r"factor multiplies the learning rate: it must be in \(0, 1\); got 2"):
        ReduceLROnPlateau(factor=2)
    model = linear_model()
    with pytest.raises(ValueError, match="ReduceLROnPlateau monitors 'val_loss', which fit will not log"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[ReduceLROnPlateau()])
    assert model.optimizer.iterations == 0


def test_csv_logger_writes_a_row_per_epoch_as_keras_does(tmp_path):
    path = tmp_path / "logs" / "training.csv"
    model = linear_model()
    history = model.fit(X, Y, epochs=2, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path)])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss,val_loss" and len(lines) == 3
    for epoch, line in enumerate(lines[1:]):
        fields = line.split(",")
        assert int(fields[0]) == epoch
        assert [float(v) for v in fields[1:]] == [history.history["loss"][epoch], history.history["val_loss"][epoch]]
    model.fit(X, Y, epochs=1, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path, append=True)])
    assert [line.split(",")[0] for line in path.read_text().splitlines()] == ["epoch", "0", "1", "0"]
    with pytest.raises(ValueError, match="CSVLogger cannot write"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[CSVLogger(path / "inside_a_file.csv")])


def test_lambda_callback_calls_the_functions_it_was_given():
    calls = []
    callback = LambdaCallback(on_epoch_end=lambda epoch, logs: calls.append((epoch, sorted(logs))),
                              on_train_batch_end=lambda batch, logs: calls.append(batch),
                              on_train_end=lambda logs: calls.append("end"))
    linear_model().fit(X, Y, batch_size=6, epochs=2, verbose=0, callbacks=[callback])
    assert calls == [0, 1, (0, ["loss"]), 0, 1, (1, ["loss"]), "end"]
    with pytest.raises(TypeError, match="LambdaCallback on_epoch_end must be a function; got 3"):
        LambdaCallback(on_epoch_end=3)


def test_lambda_callback_takes_every_hook_by_its_name_as_keras_3():
    calls = []

    def recorder(hook):
        return lambda *arguments, **keywords: calls.append((hook, arguments, keywords))

    hooks = ("on_test_begin", "on_test_batch_end", "on_test_end", "on_predict_begin", "on_predict_batch_begin",
             "on_predict_end", "on_batch_end")
    callback = LambdaCallback(**{hook: recorder(hook) for hook in hooks})
    model = linear_model()
    model.evaluate(X, Y, batch_size=8, verbose=0, callbacks=[callback])
    assert [call[0] for call in calls] == ["on_test_begin", "on_test_batch_end", "on_test_batch_end", "on_test_end"]
    assert calls[1][1] == (0,) and list(calls[1][2]) == ["logs"]  # batch hooks get their logs by name, as in Keras
    assert calls[3][1] == ({"loss": pytest.approx(model.evaluate(X, Y, verbose=0), rel=1e-6)},)
    calls.clear()
    model.predict(X, batch_size=8, callbacks=[callback])
    assert calls == [("on_predict_begin", ({},), {}), ("on_predict_batch_begin", (0,), {"logs": {}}),
                     ("on_predict_batch_begin", (1,), {"logs": {}}), ("on_predict_end", ({},), {})]
    calls.clear()
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])  # on_batch_end: the older name
    assert [call[0] for call in calls] == ["on_batch_end", "on_batch_end"]
    with pytest.raises(ValueError, match="Unknown callback hook 'on_test_batch_ends'.*Did you mean 'on_test_batch_end'"):
        LambdaCallback(on_test_batch_ends=print)
    with pytest.raises(TypeError, match="LambdaCallback on_predict_end must be a function; got 'print'"):
        LambdaCallback(on_predict_end="print")


# --- stop_evaluating and stop_predicting -----------------------------------------------------------

# Keras 3.15 (JAX) on this model and data: a callback that sets stop_evaluating (stop_predicting) at
# the end of batch 1 leaves evaluate(batch_size=3) at 0.28121283650398254, the loss of the first 6
# rows, and predict with 6 rows; fit(batch_size=3, epochs=2, shuffle=False, validation_data=(x, y))
# with it validates on 6 rows: val_loss [0.042590152472257614, 0.00667776120826602].
LINE_X = np.linspace(-1, 1, 30, dtype=np.float32).reshape(10, 3)
LINE_Y = (LINE_X @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)


def line_model():
    model = Sequential([Dense(1, input_shape=(3,))])
    model.set_weights([np.array([[0.1], [0.2], [-0.3]], np.float32), np.zeros(1, np.float32)])
    model.compile(optimizer=SGD(0.1), loss="mse")
    return model


class StopAfterBatch1(Callback):
    def on_test_batch_end(self, batch, logs=None):
        if batch == 1:
            self.model.stop_evaluating = True

    def on_predict_batch_end(self, batch, logs=None):
        if batch == 1:
            self.model.stop_predicting = True


def test_a_callback_stops_evaluate_and_predict_after_a_batch_as_keras_3():
    model = line_model()
    loss = model.evaluate(LINE_X, LINE_Y, batch_size=3, verbose=0, callbacks=[StopAfterBatch1()])
    assert loss == pytest.approx(0.28121283650398254) and model.stop_evaluating
    assert model.predict(LINE_X, batch_size=3, callbacks=[StopAfterBatch1()]).shape == (6, 1)
    assert model.stop_predicting
    # Each call starts with its flag down.
    assert model.evaluate(LINE_X, LINE_Y, batch_size=3, verbose=0) == pytest.approx(0.17419739067554474)
    assert model.predict(LINE_X, batch_size=3).shape == (10, 1)
    assert not model.stop_evaluating and not model.stop_predicting


def test_stop_evaluating_cuts_fits_validation_short_each_epoch():
    history = line_model().fit(LINE_X, LINE_Y, batch_size=3, epochs=2, shuffle=False, verbose=0,
                               validation_data=(LINE_X, LINE_Y), callbacks=[StopAfterBatch1()])
    np.testing.assert_allclose(history.history["val_loss"], [0.042590152472257614, 0.00667776120826602], rtol=1e-5)
