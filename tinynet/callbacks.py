"""Callbacks: code that ``fit`` calls at fixed moments of training, with Keras's hook names.

``fit`` calls, for every callback in ``callbacks=[...]``::

    on_train_begin(logs)
      on_epoch_begin(epoch, logs)
        on_train_batch_begin(batch, logs=logs) / on_train_batch_end(batch, logs=logs)   (each batch)
        on_test_begin(logs)                         (with validation data)
          on_test_batch_begin(batch, logs={}) / on_test_batch_end(batch, logs=logs)    (each batch)
        on_test_end(logs)                           (logs: {"loss": ...})
      on_epoch_end(epoch, logs)       logs: {"loss": ..., "accuracy": ..., "val_loss": ...}
    on_train_end(logs)                logs: the last epoch's

``evaluate(callbacks=[...])`` calls the ``on_test_*`` hooks alone, ``predict(callbacks=[...])``
``on_predict_begin({})``, ``on_predict_batch_begin(batch, logs={})``,
``on_predict_batch_end(batch, logs={"outputs": that batch's predictions})`` and
``on_predict_end({})``, in Keras 3's order and with its logs (the batch hooks get them by name, as
Keras passes them). A batch callback's ``logs`` hold the means so far over the
epoch, or over the evaluation (Keras's running metrics), not the batch's own values.

Before any of them, ``fit`` calls ``check_logs(names)`` with the names its epoch logs will hold,
so that a callback asking for one that will never come (``val_loss`` without validation data)
fails before training changes anything. Epochs and batches count from 0, as in Keras;
``on_batch_begin``/``on_batch_end`` are Keras's older names of the batch hooks and are called too.
Batch hooks are called only for callbacks that define them, because their ``logs`` (the batch's
loss, the batch's predictions) must be copied from the device each step.
A callback stops training by setting ``self.model.stop_training = True`` (in a batch hook: after
that batch; in ``on_epoch_end``: after that epoch), evaluating by setting
``self.model.stop_evaluating = True`` and predicting by ``self.model.stop_predicting = True``
(after the batch whose hook set it); each call of fit, evaluate and predict sets its flag back to
False when it starts.
"""

import csv
import inspect
import math
import numbers
import os
import re
import string

from tinynet import saving
from tinynet.utils.lookup import lookup
from tinynet.utils.validation import check_count


class Callback:
    """Base class: override the hooks you need. ``self.model`` and ``self.params`` are set by fit."""

    logs_added = ()  # names this callback adds to the epoch logs itself

    def __init__(self):
        self.model = None
        self.params = {}

    def check_logs(self, names):
        """Raise if this callback needs an epoch log that ``fit`` will not write (``names``)."""

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_test_begin(self, logs=None):
        """Before fit evaluates the validation data, each epoch."""

    def on_test_end(self, logs=None):
        """After it, with the validation values under their own names (``loss``, not ``val_loss``)."""

    def on_test_batch_begin(self, batch, logs=None):
        """Before each batch of fit's validation, or of evaluate."""

    def on_test_batch_end(self, batch, logs=None):
        """After it, with the means so far of the loss and metrics."""

    def on_predict_begin(self, logs=None):
        """Before predict's first batch."""

    def on_predict_end(self, logs=None):
        """After its last."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Before each batch of predict."""

    def on_predict_batch_end(self, batch, logs=None):
        """After it, with ``{"outputs": the batch's predictions}`` (a NumPy array)."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_batch_begin(self, batch, logs=None):
        """Keras's older name of ``on_train_batch_begin`` (which calls it)."""

    def on_batch_end(self, batch, logs=None):
        """Keras's older name of ``on_train_batch_end`` (which calls it)."""

    def wants_batch_hooks(self):
        """True if this callback overrides a training batch hook (so fit must call it every batch)."""
        return self._overrides("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")

    def wants_test_batch_hooks(self):
        """True if it overrides ``on_test_batch_begin`` or ``on_test_batch_end``."""
        return self._overrides("on_test_batch_begin", "on_test_batch_end")

    def wants_predict_batch_hooks(self):
        """True if it overrides ``on_predict_batch_begin`` or ``on_predict_batch_end``."""
        return self._overrides("on_predict_batch_begin", "on_predict_batch_end")

    def _overrides(self, *hooks):
        """True if one of ``hooks`` is this callback's own: defined by its class, or given to the
        object itself (as ``LambdaCallback`` sets the functions it is given)."""
        own = type(self)
        return any(hook in vars(self) or getattr(own, hook) is not getattr(Callback, hook) for hook in hooks)


class History(Callback):
    """Records the epoch logs: ``history.history["loss"]`` is the list of per-epoch losses.

    ``fit`` always uses one and returns it (also kept as ``model.history``).
    """

    def __init__(self):
        super().__init__()
        self.epoch = []
        self.history = {}

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)


def _monitor_mode(monitor, mode):
    """``"min"`` or ``"max"``: which direction of ``monitor`` is an improvement."""
    if not isinstance(monitor, str):
        raise TypeError(f"monitor must be the name of a logged value, such as 'val_loss'; got {monitor!r}.")
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max'; got {mode!r}.")
    if mode != "auto":
        return mode
    # Keras 3 asks the metric object which way is up; by name here: accuracy, AUC, precision,
    # recall, the F scores, the "X at Y" metrics, the cosine similarity and the R2 score (and
    # their second objects, "precision_1", in any spelling, "F1Score" or "f1_score") rise as the
    # model improves.
    name = re.sub(r"_\d+$", "", monitor.removeprefix("val_")).lower()
    return "max" if ("acc" in monitor or name.endswith("auc") or name.replace("_", "") in _RISING) else "min"


_RISING = {"precision", "recall", "f1score", "fbetascore", "precisionatrecall", "recallatprecision",
           "sensitivityatspecificity", "specificityatsensitivity", "cosinesimilarity", "r2score"}


def _improves(value, reference, mode, min_delta=0.0):
    """True if ``value`` is better than ``reference`` by more than ``min_delta`` (None: nothing
    to beat yet). A NaN is never an improvement: taken as the best, it would beat everything after
    it, because every comparison with NaN is False."""
    if math.isnan(value):
        return False
    if reference is None:
        return True
    return value < reference - min_delta if mode == "min" else value > reference + min_delta


def _check_number(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number{' or None' if allow_none else ''}; got {value!r}.")
    return float(value)


def _check_monitored(monitor, names, who):
    if monitor not in names:
        raise ValueError(
            f"{who} monitors {monitor!r}, which fit will not log. Available: {', '.join(names)}. "
            "(val_ values need validation_split or validation_data.)"
        )


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best_weights=True`` the model gets back the weights of its best epoch when
    training ends, whether it stopped early or ran all its epochs (as in Keras 3).
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0.0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
    ):
        super().__init__()
        self.mode = _monitor_mode(monitor, mode)
        self.monitor = monitor
        self.min_delta = abs(_check_number("EarlyStopping min_delta", min_delta))
        self.patience = check_count("EarlyStopping patience", patience, 0)
        self.verbose = verbose
        self.baseline = _check_number("EarlyStopping baseline", baseline, allow_none=True)
        self.restore_best_weights = restore_best_weights

    def _improves(self, value, reference):
        return _improves(value, reference, self.mode, self.min_delta)

    def check_logs(self, names):
        _check_monitored(self.monitor, names, "EarlyStopping")

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = logs.get(self.monitor)
        if current is None:  # an epoch fit did not validate (validation_freq): Keras skips it too
            return
        self.wait += 1
        if self._improves(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # As in Keras 3: an improvement never stops training, but it restarts the count of
            # patience only if it also beats the baseline.
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch to ``schedule(epoch, learning_rate)``.

    An optimizer made with a schedule from ``tinynet.optimizers.schedules`` takes no rate from
    outside: the first epoch raises a TypeError, as in Keras."""

    logs_added = ("learning_rate",)

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"LearningRateScheduler expects a function schedule(epoch, learning_rate); got {schedule!r}."
            )
        self.schedule = schedule
        self.verbose = verbose
        # schedule(epoch, learning_rate), or schedule(epoch) as old Keras allowed. Keras tries the
        # first and falls back on any TypeError, which would hide a TypeError inside the schedule.
        try:
            inspect.signature(schedule).bind(0, 0.01)
            self.takes_learning_rate = True
        except TypeError:
            self.takes_learning_rate = False
        except ValueError:  # no signature to read (some built-ins): call it as Keras 3 does
            self.takes_learning_rate = True

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if self.takes_learning_rate:
            rate = self.schedule(epoch, optimizer.learning_rate)
        else:
            rate = self.schedule(epoch)
        try:
            optimizer.learning_rate = rate
        except ValueError:
            raise ValueError(
                f"The schedule must return a positive, finite learning rate; got {rate!r} for epoch {epoch}."
            ) from None
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


class ModelCheckpoint(Callback):
    """Saves the model after each epoch (or only when ``monitor`` improved, with ``save_best_only``).

    As in Keras, the whole model by default (``model.save``: ``load_model`` gives it back), or only
    its weights with ``save_weights_only=True`` (``save_weights``). ``filepath`` may hold fields
    filled from the epoch (counting from 1) and the logs, such as
    ``"model.{epoch:02d}-{val_loss:.2f}.npz"``. Each file is written atomically: a crash leaves
    the previous file or the new one, never half of one.
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
    ):
        super().__init__()
        self.filepath = str(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = _monitor_mode(monitor, mode)
        self.best = None

    def check_logs(self, names):
        saving.check_file_name(self.filepath, "model.{epoch:02d}.npz")
        fields = {field for _, field, _, _ in string.Formatter().parse(self.filepath) if field is not None}
        unknown = sorted(fields - {"epoch", *names})
        if unknown:
            raise ValueError(
                f"ModelCheckpoint cannot fill {', '.join(map(repr, unknown))} in filepath "
                f"{self.filepath!r}: the fields available are epoch, {', '.join(names)}. (val_ values "
                "need validation_split or validation_data.)"
            )
        _check_writable(self._path(0, {name: 0.5 for name in names}), "ModelCheckpoint", self.filepath)
        if self.save_best_only:
            _check_monitored(self.monitor, names, "ModelCheckpoint")
        if not self.save_weights_only:
            try:
                saving.check_savable(self.model)
            except ValueError as error:
                raise ValueError(f"ModelCheckpoint: {error} Or pass save_weights_only=True.") from None

    def _path(self, epoch, logs):
        """The file name for ``epoch`` (from 0) and its logs; a field that cannot be filled (a
        format such as ``{epoch:.2f}`` on a whole number) is refused by ``check_logs``."""
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except (ValueError, IndexError, KeyError) as error:
            raise ValueError(
                f"ModelCheckpoint cannot fill filepath {self.filepath!r}: {error}. Fields are filled "
                "from the epoch (an integer) and the logs (floats), e.g. 'model.{epoch:02d}-{loss:.2f}.npz'."
            ) from None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self._path(epoch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:  # an epoch fit did not validate (validation_freq): Keras skips it too
                return
            if not _improves(current, self.best, self.mode):
                return
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved to {current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        _make_folder_of(path)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


def _check_writable(path, who, given):
    """Refuse a path that names a folder, or whose folder cannot be made or written to: the
    folder is made when the first file is written (``_make_folder_of``), as Keras makes it."""
    folder, name = os.path.split(path)
    if not name:
        raise ValueError(f"{who} path {given!r} names a folder; add a file name, "
                         "e.g. 'checkpoints/model.{epoch:02d}.npz'.")
    existing = os.path.abspath(folder or ".")
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK):
        raise ValueError(f"{who} cannot write {path!r}: {existing!r} is not a folder it may write in.")


def _make_folder_of(path):
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` has not improved by ``min_delta``
    for ``patience`` epochs, as Keras's does; then waits ``cooldown`` epochs before it counts again,
    and never goes below ``min_lr``. Each epoch's logs get the rate it trained with,
    ``learning_rate`` (from a schedule, the rate of the next step, as in Keras). The rate of an
    optimizer made with a schedule cannot be reduced: that raises a TypeError, as in Keras."""

    logs_added = ("learning_rate",)

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0):
        super().__init__()
        self.mode = _monitor_mode(monitor, mode)
        self.monitor = monitor
        self.factor = _check_number("ReduceLROnPlateau factor", factor)
        if not 0 < self.factor < 1:
            raise ValueError(f"ReduceLROnPlateau factor multiplies the learning rate: it must be in (0, 1); "
                             f"got {factor!r}.")
        self.patience = check_count("ReduceLROnPlateau patience", patience, 0)
        self.cooldown = check_count("ReduceLROnPlateau cooldown", cooldown, 0)
        self.min_delta = abs(_check_number("ReduceLROnPlateau min_delta", min_delta))
        self.min_lr = _check_number("ReduceLROnPlateau min_lr", min_lr)
        self.verbose = verbose

    def check_logs(self, names):
        _check_monitored(self.monitor, names, "ReduceLROnPlateau")

    def on_train_begin(self, logs=None):
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        logs["learning_rate"] = optimizer.learning_rate
        current = logs.get(self.monitor)
        if current is None:  # an epoch fit did not validate (validation_freq): Keras skips it too
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if _improves(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and optimizer.learning_rate > self.min_lr:
                optimizer.learning_rate = max(optimizer.learning_rate * self.factor, self.min_lr)
                if self.verbose:
                    print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                          f"{optimizer.learning_rate}.")
                self.cooldown_counter = self.cooldown
                self.wait = 0


class CSVLogger(Callback):
    """Writes each epoch's logs as a row of a CSV file, as Keras's does: a header ``epoch,...``
    with the logs' names in alphabetical order, then one row per epoch, written out at once (a crash
    keeps the finished epochs). ``append=True`` adds to an existing file."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self.file = None

    def check_logs(self, names):
        _check_writable(self.filename, "CSVLogger", self.filename)

    def on_train_begin(self, logs=None):
        _make_folder_of(self.filename)
        has_rows = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self.file = open(self.filename, "a" if self.append else "w", newline="")  # closed by on_train_end
        self.writer = None if not has_rows else csv.writer(self.file, delimiter=self.separator)

    def on_epoch_end(self, epoch, logs=None):
        names = sorted(logs)
        if self.writer is None:
            self.writer = csv.writer(self.file, delimiter=self.separator)
            self.writer.writerow(["epoch", *names])
        self.writer.writerow([epoch, *(logs[name] for name in names)])
        self.file.flush()

    def on_train_end(self, logs=None):
        self.file.close()


# Every hook a callback has, as Keras 3's Callback names them: what LambdaCallback may be given.
_HOOKS = (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
    "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end",
    "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
    "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end",
)


class LambdaCallback(Callback):
    """A callback made of functions, as Keras's: ``LambdaCallback(on_epoch_end=lambda epoch, logs:
    print(logs["loss"]))``. Any hook may be given by its name (``on_test_batch_end=...``,
    ``on_predict_end=...``), and is called as the hook is: the epoch hooks with ``(epoch, logs)``,
    the batch hooks with ``(batch, logs=logs)``, the others with ``(logs)``. Keras takes a name
    that is no hook and never calls it; tinynet refuses it, with the closest hook's name."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **hooks):
        super().__init__()
        hooks.update(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for hook, function in hooks.items():
            if hook not in _HOOKS:
                lookup("callback hook", hook, dict.fromkeys(_HOOKS))  # raises, with the closest name
                raise ValueError(f"Unknown callback hook {hook!r}: hooks are named in lower case, {hook.lower()!r}.")
            if function is not None and not callable(function):
                raise TypeError(f"LambdaCallback {hook} must be a function; got {function!r}.")
        # Set on the object, as Keras does: each replaces its hook, and only those given are called.
        for hook, function in hooks.items():
            if function is not None:
                setattr(self, hook, function)


class TerminateOnNaN(Callback):
    """Stops training as soon as the loss is NaN or infinite (the running mean a batch callback sees
    turns NaN or infinite with the first such batch)."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


__all__ = [
    "Callback",
    "History",
    "EarlyStopping",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "CSVLogger",
    "LambdaCallback",
    "TerminateOnNaN",
]
