"""Metric objects (Precision, Recall, AUC and Metric subclasses): their numbers against Keras 3.15,
their counts over many batches, how fit, evaluate, train_on_batch and test_on_batch reset and
log them, saving, the array_api_strict backend, and the errors."""

import json
import re

import numpy as np
import pytest

from tinynet import backend, metrics
from tinynet.callbacks import Callback, EarlyStopping, ReduceLROnPlateau
from tinynet.layers import Dense
from tinynet.metrics import AUC, Metric, Precision, Recall
from tinynet.models import Sequential, load_model
from tinynet.optimizers import SGD
from tinynet.saving import register_keras_serializable
from tinynet.utils import set_random_seed

# --- data: made the same way for Keras (same NumPy generator streams) --------------------------


def binary_data():
    """64 predictions of one output, targets drawn so that a larger prediction is more often 1."""
    generator = np.random.default_rng(1)
    y_pred = generator.random((64, 1), dtype=np.float32)
    y_true = (generator.random((64, 1), dtype=np.float32) < y_pred).astype(np.float32)
    return y_true, y_pred


def multiclass_data():
    """48 softmax rows over 4 classes and one-hot targets."""
    generator = np.random.default_rng(2)
    logits = generator.normal(size=(48, 4)).astype(np.float32)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    y_pred = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
    y_true = np.eye(4, dtype=np.float32)[generator.integers(0, 4, size=48)]
    return y_true, y_pred


def multilabel_data():
    """40 samples of 3 independent labels."""
    generator = np.random.default_rng(3)
    y_pred = generator.random((40, 3), dtype=np.float32)
    y_true = (generator.random((40, 3), dtype=np.float32) < y_pred).astype(np.float32)
    return y_true, y_pred


def sample_weights(n):
    return (2 * np.random.default_rng(4).random(n)).astype(np.float32)


DATA = {"binary": binary_data, "multiclass": multiclass_data, "multilabel": multilabel_data}

# (metric, data, weighted, Keras's result). The results come from Keras 3.15.1 (JAX backend):
# keras.metrics.Precision/Recall/AUC with the same arguments, update_state on the same arrays
# (with sample_weights(n) where weighted), then result().
KERAS_CASES = {
    "precision-default": (lambda: Precision(), "binary", False, 0.7857142686843872),
    "recall-default": (lambda: Recall(), "binary", False, 0.7857142686843872),
    "precision-thresholds": (lambda: Precision(thresholds=[0.2, 0.5, 0.8]), "binary", False,
                             [0.5490196347236633, 0.7857142686843872, 1.0]),
    "recall-thresholds": (lambda: Recall(thresholds=[0.2, 0.5, 0.8]), "binary", False,
                          [1.0, 0.7857142686843872, 0.5]),
    "precision-even-thresholds": (lambda: Precision(thresholds=[0.0, 0.25, 0.5, 0.75, 1.0]), "binary", False,
                                  [0.4375, 0.5714285969734192, 0.7857142686843872, 1.0, 0.0]),
    "recall-one-threshold-in-a-list": (lambda: Recall(thresholds=[0.7]), "binary", False, 0.7142857313156128),
    "precision-weighted": (lambda: Precision(), "binary", True, 0.8093575239181519),
    "recall-weighted-thresholds": (lambda: Recall(thresholds=[0.3, 0.6]), "binary", True,
                                   [0.9496702551841736, 0.8090972900390625]),
    "precision-class_id": (lambda: Precision(class_id=2), "multiclass", False, 0.1666666716337204),
    "recall-class_id-threshold": (lambda: Recall(class_id=2, thresholds=0.3), "multiclass", False, 0.3333333432674408),
    "precision-top_k": (lambda: Precision(top_k=1), "multiclass", False, 0.25),
    "recall-top_k": (lambda: Recall(top_k=2), "multiclass", False, 0.4583333432674408),
    "precision-top_k-class_id": (lambda: Precision(top_k=2, class_id=1), "multiclass", False, 0.17391304671764374),
    "recall-top_k-threshold-weighted": (lambda: Recall(top_k=2, thresholds=0.3), "multiclass", True,
                                        0.32201823592185974),
    "precision-of-all-outputs": (lambda: Precision(), "multiclass", False, 0.2800000011920929),
    "auc-roc": (lambda: AUC(), "binary", False, 0.9394841194152832),
    "auc-pr": (lambda: AUC(curve="PR"), "binary", False, 0.9371659755706787),
    "auc-roc-minoring": (lambda: AUC(summation_method="minoring"), "binary", False, 0.9375),
    "auc-roc-majoring": (lambda: AUC(summation_method="majoring"), "binary", False, 0.9414682388305664),
    "auc-pr-minoring": (lambda: AUC(curve="PR", summation_method="minoring"), "binary", False, 0.8989863395690918),
    "auc-pr-majoring": (lambda: AUC(curve="PR", summation_method="majoring"), "binary", False, 0.9397311210632324),
    "auc-roc-10-thresholds": (lambda: AUC(num_thresholds=10), "binary", False, 0.935019850730896),
    "auc-pr-10-thresholds-weighted": (lambda: AUC(num_thresholds=10, curve="PR"), "binary", True, 0.9541245698928833),
    "auc-roc-weighted": (lambda: AUC(), "binary", True, 0.9422001242637634),
    "auc-given-thresholds": (lambda: AUC(thresholds=[0.7, 0.2, 0.45]), "binary", False, 0.9216269850730896),
    "auc-pr-given-thresholds": (lambda: AUC(thresholds=[0.7, 0.2, 0.45], curve="PR"), "binary", False,
                                0.898729145526886),
    "auc-of-all-outputs": (lambda: AUC(), "multiclass", False, 0.4785156548023224),
    "auc-multi_label": (lambda: AUC(multi_label=True), "multilabel", False, 0.8103303909301758),
    "auc-multi_label-pr-weighted": (lambda: AUC(multi_label=True, curve="PR", num_labels=3), "multilabel", True,
                                    0.8567218780517578),
    "auc-multi_label-label_weights": (lambda: AUC(multi_label=True, label_weights=[1.0, 0.0, 3.0]), "multilabel",
                                      False, 0.7897869348526001),
    "auc-label_weights": (lambda: AUC(label_weights=[1.0, 0.5, 2.0]), "multilabel", False, 0.8021926879882812),
}


def batch(name, weighted, on_device=True):
    """``(y_true, y_pred, sample_weight or None)`` of a data set, as backend arrays."""
    y_true, y_pred = DATA[name]()
    weights = sample_weights(len(y_true)) if weighted else None
    if not on_device:
        return y_true, y_pred, weights
    return backend.asarray(y_true), backend.asarray(y_pred), None if weights is None else backend.asarray(weights)


def result_of(metric):
    return backend.to_numpy(metric.result())


@pytest.mark.parametrize("case", list(KERAS_CASES))
def test_metric_objects_give_kerass_numbers(array_backend, case):
    make, data, weighted, expected = KERAS_CASES[case]
    metric = make()
    metric.update_state(*batch(data, weighted))
    got = result_of(metric)
    assert got.shape == np.shape(expected)  # one value per threshold, a number for one, as in Keras
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_auc_from_logits_applies_the_sigmoid_as_keras():
    y_true, y_pred, _ = batch("binary", False)
    logits = (y_pred - 0.5) * 6
    from_logits = AUC(from_logits=True)
    from_logits.update_state(y_true, logits)
    np.testing.assert_allclose(result_of(from_logits), 0.9389880895614624, rtol=1e-6)  # Keras 3.15.1


def test_kerass_docstring_examples(array_backend):
    # The examples of Keras 3.15's docstrings, with the values they show.
    precision, recall = Precision(), Recall()
    precision.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    recall.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    np.testing.assert_allclose(result_of(precision), 2 / 3, rtol=1e-6)
    np.testing.assert_allclose(result_of(recall), 2 / 3, rtol=1e-6)
    precision.reset_state()
    precision.update_state([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0])
    assert result_of(precision) == 1.0
    auc = AUC(num_thresholds=3)
    assert auc.thresholds == [-1e-7, 0.5, 1 + 1e-7]
    assert float(auc([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])) == 0.75  # __call__: update, then result
    auc.reset_state()
    auc.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1])
    assert result_of(auc) == 1.0


@pytest.mark.parametrize("case", ["precision-thresholds", "recall-top_k", "auc-roc", "auc-multi_label",
                                  "auc-pr-10-thresholds-weighted", "precision-class_id"])
def test_counts_over_several_batches_are_the_counts_over_all_of_them(array_backend, case):
    make, data, weighted, _ = KERAS_CASES[case]
    y_true, y_pred, weights = batch(data, weighted)
    whole, pieces = make(), make()
    whole.update_state(y_true, y_pred, weights)
    for start, stop in [(0, 5), (5, 6), (6, 30), (30, y_true.shape[0])]:
        pieces.update_state(y_true[start:stop, ...], y_pred[start:stop, ...],
                            None if weights is None else weights[start:stop])
    counts = ("true_positives", "false_positives", "false_negatives", "true_negatives")
    for count in counts:
        got, expected = backend.to_numpy(getattr(pieces, count)), backend.to_numpy(getattr(whole, count))
        if weighted:  # float32 sums of weights (up to ~60) added in another order: rounding of a few 1e-6
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5)
        else:
            np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(result_of(pieces), result_of(whole), rtol=1e-6)
    pieces.reset_state()
    for count in counts:
        assert not np.any(backend.to_numpy(getattr(pieces, count)))


def test_the_counts_follow_their_definitions():
    # Three outputs per sample, counted alike; a target of 0.3 counts as positive (not 0), as in Keras.
    y_true = np.array([[1, 0, 0.3], [0, 1, 0]], np.float32)
    y_pred = np.array([[0.9, 0.6, 0.2], [0.4, 0.5, 0.7]], np.float32)
    recall = Recall(thresholds=[0.1, 0.5])
    recall.update_state(y_true, y_pred, sample_weight=[1.0, 2.0])
    # threshold 0.1: everything is above it; threshold 0.5: 0.9, 0.6 and 0.7 are above (0.5 is not).
    np.testing.assert_array_equal(backend.to_numpy(recall.true_positives), [[4.0, 1.0]])
    np.testing.assert_array_equal(backend.to_numpy(recall.false_positives), [[5.0, 3.0]])
    np.testing.assert_array_equal(backend.to_numpy(recall.false_negatives), [[0.0, 3.0]])
    np.testing.assert_array_equal(backend.to_numpy(recall.true_negatives), [[0.0, 2.0]])
    np.testing.assert_allclose(result_of(recall), [1.0, 0.25])


def test_top_k_takes_the_first_of_equal_predictions_as_keras():
    # Keras's top_k keeps the first of equal values: with top_k=1 only class 0 of [0.4, 0.4, 0.2] counts.
    precision = Precision(top_k=1)
    precision.update_state([[0, 1, 0]], [[0.4, 0.4, 0.2]])
    assert result_of(precision) == 0.0
    precision.update_state([[1, 0, 0]], [[0.4, 0.4, 0.2]])
    assert result_of(precision) == 0.5


# --- names and configs --------------------------------------------------------------------------


def test_names_are_kerass():
    class FreshCount(Metric):
        def reset_state(self):
            pass

    assert [FreshCount().name, FreshCount().name, FreshCount().name] == ["fresh_count", "fresh_count_1", "fresh_count_2"]
    assert AUC().name.startswith("auc") and Precision(name="p").name == "p"
    # By name, an object is named as asked for, as Keras names it; a class gets its own name.
    assert metrics.get("AUC")[0] == "AUC" and metrics.get("AUC")[1].name == "AUC"
    name, precision = metrics.get(Precision)
    assert isinstance(precision, Precision) and name == precision.name and name.startswith("precision")
    given = Recall()
    assert metrics.get(given) == (given.name, given)  # an object is used as it is
    assert metrics.get_weighted(given) == (given.name, given)


def test_configs_are_kerass_and_make_the_metric_again():
    # Keras 3.15.1's get_config of Precision(thresholds=[0.3, 0.6], top_k=2, class_id=1, name="p").
    keras_config = {"name": "p", "dtype": "float32", "thresholds": [0.3, 0.6], "top_k": 2, "class_id": 1}
    precision = Precision(thresholds=[0.3, 0.6], top_k=2, class_id=1, name="p")
    assert precision.get_config() == keras_config
    # Keras 3.15.1's AUC(num_thresholds=10, curve="PR", name="a") config, and AUC(thresholds=[0.7, 0.2]):
    # tinynet's also holds "thresholds" (None) when none were given, so cls(**config) takes every argument.
    auc = AUC(num_thresholds=10, curve="PR", name="a")
    assert auc.get_config() == {"name": "a", "dtype": "float32", "num_thresholds": 10, "curve": "PR",
                                "summation_method": "interpolation", "multi_label": False, "num_labels": None,
                                "label_weights": None, "from_logits": False, "thresholds": None}
    given = AUC(thresholds=[0.7, 0.2], name="at").get_config()
    assert given["thresholds"] == [0.2, 0.7] and given["num_thresholds"] == 4
    y_true, y_pred, weights = batch("multiclass", True)
    for metric in (precision, auc, AUC(thresholds=[0.7, 0.2], summation_method="majoring", name="at"),
                   AUC(multi_label=True, num_labels=4, label_weights=[1, 2, 0, 1], name="m")):
        again = type(metric).from_config(json.loads(json.dumps(metric.get_config())))
        assert again.get_config() == metric.get_config()
        metric.update_state(y_true, y_pred, weights)
        again.update_state(y_true, y_pred, weights)
        np.testing.assert_array_equal(result_of(again), result_of(metric))
    assert metrics.deserialize(metrics.serialize(precision)).get_config() == keras_config


# --- in a model ---------------------------------------------------------------------------------

# A fixed model and data, as in Keras: Dense(3, softmax) with these weights.
_generator = np.random.default_rng(5)
X = _generator.normal(size=(60, 5)).astype(np.float32)
KERNEL = _generator.normal(size=(5, 3)).astype(np.float32)
BIAS = np.array([0.1, -0.2, 0.05], np.float32)
Y = np.eye(3, dtype=np.float32)[_generator.integers(0, 3, size=60)]
W = (2 * _generator.random(60)).astype(np.float32)


def fixed_model(**compile_arguments):
    """The fixed model, frozen so that fit leaves its weights as they are (Keras's had SGD(0.0))."""
    model = Sequential([Dense(3, activation="softmax", input_shape=(5,))])
    model.set_weights([KERNEL, BIAS])
    model.trainable = False
    model.compile(optimizer=SGD(learning_rate=0.1), loss="categorical_crossentropy", **compile_arguments)
    return model


def keras_like_model():
    return fixed_model(metrics=["accuracy", "precision", Recall(name="recall"), AUC(name="auc", curve="PR")],
                       weighted_metrics=["precision", AUC(name="wauc")])


# From Keras 3.15.1 (JAX): the same model compiled alike, model.evaluate(X, Y, batch_size=7 and 60).
KERAS_EVALUATE = {"loss": 2.1458756923675537, "accuracy": 0.3499999940395355, "precision": 0.37254902720451355,
                  "recall": 0.3166666626930237, "auc": 0.3203164339065552, "weighted_precision": 0.37254902720451355,
                  "wauc": 0.4869444668292999}
# ... model.evaluate(X, Y, sample_weight=W, batch_size=16)
KERAS_EVALUATE_WEIGHTED = {**KERAS_EVALUATE, "loss": 2.22585391998291, "weighted_precision": 0.31383073329925537,
                           "wauc": 0.4505256414413452}
# ... model.test_on_batch(X[:20], Y[:20]) (also fit's validation values on them), then on X[20:], Y[20:]
KERAS_FIRST_20 = {"loss": 2.6059978008270264, "accuracy": 0.30000001192092896, "precision": 0.3529411852359772,
                  "recall": 0.30000001192092896, "auc": 0.28128212690353394,
                  "weighted_precision": 0.3529411852359772, "wauc": 0.4074999690055847}
KERAS_LAST_40 = {"loss": 1.915814995765686, "accuracy": 0.375, "precision": 0.38235294818878174,
                 "recall": 0.32499998807907104, "auc": 0.3472501337528229, "weighted_precision": 0.38235294818878174,
                 "wauc": 0.5307812094688416}


def assert_logs_close(got, expected):
    assert list(got) == list(expected)
    np.testing.assert_allclose(list(got.values()), list(expected.values()), rtol=1e-6)


def test_evaluate_gives_kerass_values_in_kerass_order(array_backend):
    model = keras_like_model()
    assert model.metrics_names == ["loss", "accuracy", "precision", "recall", "auc", "weighted_precision", "wauc"]
    for batch_size in (7, 60):
        assert_logs_close(model.evaluate(X, Y, batch_size=batch_size, verbose=0, return_dict=True), KERAS_EVALUATE)
    np.testing.assert_allclose(model.evaluate(X, Y, verbose=0), list(KERAS_EVALUATE.values()), rtol=1e-6)
    got = model.evaluate(X, Y, sample_weight=W, batch_size=16, verbose=0, return_dict=True)
    assert_logs_close(got, KERAS_EVALUATE_WEIGHTED)


def test_fit_logs_the_epochs_and_validations_values_as_keras(array_backend):
    model = keras_like_model()
    history = model.fit(X, Y, batch_size=16, epochs=2, verbose=0, validation_data=(X[:20], Y[:20])).history
    expected = {**{name: [value] * 2 for name, value in KERAS_EVALUATE.items()},
                **{f"val_{name}": [value] * 2 for name, value in KERAS_FIRST_20.items()}}
    assert list(history) == list(expected)
    for name, values in expected.items():
        np.testing.assert_allclose(history[name], values, rtol=1e-6, err_msg=name)


def test_train_and_test_on_batch_count_their_batch_alone_as_keras_3(array_backend):
    model = keras_like_model()
    model.evaluate(X, Y, verbose=0)  # state the next calls must not carry on from
    np.testing.assert_allclose(model.test_on_batch(X[:20], Y[:20]), list(KERAS_FIRST_20.values()), rtol=1e-6)
    np.testing.assert_allclose(model.test_on_batch(X[20:], Y[20:]), list(KERAS_LAST_40.values()), rtol=1e-6)
    np.testing.assert_allclose(model.train_on_batch(X[20:], Y[20:]), list(KERAS_LAST_40.values()), rtol=1e-6)


def test_evaluate_counts_every_sample_once_whatever_the_batch_size(array_backend):
    set_random_seed(3)
    model = Sequential([Dense(4, activation="relu", input_shape=(5,)), Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy",
                  metrics=[Precision(name="p"), Recall(thresholds=[0.2, 0.4], name="r"), AUC(name="auc")])
    values = [model.evaluate(X, Y, batch_size=size, verbose=0)[1:] for size in (1, 7, 32, 60, None)]
    for other in values[1:]:
        for got, expected in zip(other, values[0], strict=True):
            np.testing.assert_array_equal(got, expected)
    # ... and they are the metrics of all the predictions at once.
    predictions = model.predict(X)
    for metric, value in zip([Precision(), Recall(thresholds=[0.2, 0.4]), AUC()], values[0], strict=True):
        metric.update_state(Y, predictions)
        np.testing.assert_array_equal(result_of(metric), np.asarray(value, np.float32))  # logs: float32's digits


class SampleCount(Metric):
    """How many samples (rows) were seen since the last reset: shows when the state is reset."""

    def __init__(self, name="sample_count", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self):
        self.count = self.zeros(())

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count = self.count + y_pred.shape[0]

    def result(self):
        return self.count


class BatchLogs(Callback):
    def __init__(self):
        super().__init__()
        self.counts = []

    def on_train_batch_end(self, batch, logs=None):
        self.counts.append(logs["sample_count"])


def test_fit_resets_the_state_at_each_epoch_and_for_validation(array_backend):
    model = fixed_model(metrics=[SampleCount(), Precision(name="precision")])
    recorder = BatchLogs()
    history = model.fit(X[:50], Y[:50], batch_size=16, epochs=3, verbose=0, callbacks=[recorder],
                        validation_data=(X[50:], Y[50:])).history
    assert history["sample_count"] == [50, 50, 50] and history["val_sample_count"] == [10, 10, 10]
    assert recorder.counts == [16, 32, 48, 50] * 3  # a batch callback sees the epoch so far, as in Keras
    # Each epoch's precision is that of all its samples (the weights do not change), not of a mix of
    # training and validation samples.
    precision = Precision()
    precision.update_state(Y[:50], model.predict(X[:50]))
    np.testing.assert_allclose(history["precision"], [result_of(precision)] * 3, rtol=1e-6)
    assert model.evaluate(X, Y, verbose=0, return_dict=True)["sample_count"] == 60


def test_weighted_metric_objects_get_the_sample_and_class_weights(array_backend):
    model = fixed_model(metrics=[Recall(name="recall")], weighted_metrics=[Recall(name="weighted_recall")])
    predictions = model.predict(X)

    def recall(weights=None):
        metric = Recall()
        metric.update_state(Y, predictions, weights)
        return float(result_of(metric))

    assert recall(W) != pytest.approx(recall())  # the check below could fail
    logs = model.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True)
    assert logs["recall"] == pytest.approx(recall(), rel=1e-6)
    assert logs["weighted_recall"] == pytest.approx(recall(W), rel=1e-6)
    class_weight = {0: 0.5, 1: 2.0, 2: 1.0}
    history = model.fit(X, Y, batch_size=8, epochs=1, verbose=0, class_weight=class_weight).history
    per_sample = np.array([class_weight[label] for label in np.argmax(Y, axis=1)], np.float32)
    assert history["weighted_recall"][0] == pytest.approx(recall(per_sample), rel=1e-6)
    assert history["recall"][0] == pytest.approx(recall(), rel=1e-6)


def test_a_value_per_threshold_is_logged_as_an_array_and_shown_as_its_mean(capsys):
    model = fixed_model(metrics=[Precision(thresholds=[0.2, 0.6], name="pt")])
    history = model.fit(X, Y, epochs=1, verbose=2).history
    # Keras 3.15.1 logs [0.3444444537162781, 0.3695652186870575] for this model and data.
    np.testing.assert_allclose(history["pt"][0], [0.3444444537162781, 0.3695652186870575], rtol=1e-6)
    assert f"- pt: {np.mean(history['pt'][0]):.4f}" in capsys.readouterr().out
    values = model.evaluate(X, Y, verbose=0)[1]
    np.testing.assert_allclose(values, history["pt"][0], rtol=1e-6)


def test_compile_takes_names_classes_and_objects_as_keras():
    model = fixed_model(metrics=["Precision", "AUC", "recall", Precision, "accuracy"])
    names = model.metrics_names
    assert names[:4] == ["loss", "Precision", "AUC", "recall"] and names[4].startswith("precision")
    assert names[5] == "accuracy"
    assert [type(metric) for _, metric in model.metrics[:4]] == [Precision, AUC, Recall, Precision]
    # Each compile by name makes new objects: one compile's state is not another's.
    first, again = fixed_model(metrics=["auc"]), fixed_model(metrics=["auc"])
    assert first.metrics[0][1] is not again.metrics[0][1]


def test_monitoring_precision_recall_or_auc_maximises_them():
    assert EarlyStopping(monitor="val_precision").mode == "max"
    assert EarlyStopping(monitor="recall_1").mode == "max"
    assert ReduceLROnPlateau(monitor="val_AUC").mode == "max"
    assert EarlyStopping(monitor="val_loss").mode == "min"


def test_a_metric_object_of_ones_own_as_in_the_docstring(array_backend):
    class BinaryTruePositives(Metric):
        """How many outputs are above 0.5 where their target is 1, since the last reset."""

        def __init__(self, name="binary_true_positives", dtype=None):
            super().__init__(name=name, dtype=dtype)
            self.reset_state()

        def reset_state(self):
            self.true_positives = self.zeros(())

        def update_state(self, y_true, y_pred, sample_weight=None):
            xp = backend.namespace()
            hits = xp.astype((y_true == 1) & (y_pred > 0.5), self.true_positives.dtype)
            if sample_weight is not None:  # one weight per sample, for its row of hits
                hits = hits * xp.reshape(sample_weight, (-1,) + (1,) * (hits.ndim - 1))
            self.true_positives = self.true_positives + xp.sum(hits)

        def result(self):
            return self.true_positives

    y_true, y_pred = binary_data()
    set_random_seed(0)
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(1,))])
    model.set_weights([np.array([[20.0]], np.float32), np.array([-10.0], np.float32)])  # about the identity on [0, 1]
    model.trainable = False
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[BinaryTruePositives()])
    predictions = model.predict(y_pred)
    expected = np.sum((y_true == 1) & (predictions > 0.5))
    assert 0 < expected < np.sum(y_true)
    assert model.evaluate(y_pred, y_true, batch_size=10, verbose=0)[1] == expected
    assert model.fit(y_pred, y_true, batch_size=10, epochs=2, verbose=0).history["binary_true_positives"] == [
        expected, expected]


# --- saving ---------------------------------------------------------------------------------------


def test_metric_objects_survive_save_and_load(tmp_path):
    model = fixed_model(metrics=["accuracy", Precision(thresholds=[0.3, 0.6], name="p"), "auc",
                                 AUC(curve="PR", num_thresholds=50, summation_method="majoring", name="pr")],
                        weighted_metrics=[Recall(class_id=1, name="r1"), "precision"])
    model.save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz") as stored:
        config = json.loads(str(stored["config"]))["compile"]
    assert config["metrics"][0] == "accuracy"
    assert config["metrics"][1] == {"class_name": "Precision", "config": model.metrics[1][1].get_config()}
    loaded = load_model(tmp_path / "model.npz")
    assert loaded.metrics_names == model.metrics_names
    for (_, saved), (_, again) in zip([*model.metrics, *model.weighted_metrics],
                                      [*loaded.metrics, *loaded.weighted_metrics], strict=True):
        assert type(again) is type(saved)
        if isinstance(saved, Metric):  # a new object, made from the saved config
            assert again is not saved and again.get_config() == saved.get_config()
    for got, expected in zip(loaded.evaluate(X, Y, sample_weight=W, verbose=0),
                             model.evaluate(X, Y, sample_weight=W, verbose=0), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_a_metric_class_of_ones_own_is_saved_by_name(tmp_path):
    @register_keras_serializable("tests")
    class RegisteredCount(SampleCount):
        pass

    class GivenCount(SampleCount):
        pass

    model = fixed_model(metrics=[RegisteredCount(name="registered"), GivenCount(name="given")])
    model.save(tmp_path / "model.npz")
    with pytest.raises(ValueError, match="GivenCount.*custom_objects"):
        load_model(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz", custom_objects={"GivenCount": GivenCount})
    assert [type(metric) for _, metric in loaded.metrics] == [RegisteredCount, GivenCount]
    assert loaded.evaluate(X, Y, verbose=0)[1:] == [60, 60]


def test_save_refuses_a_metric_object_it_could_not_make_again(tmp_path):
    class Thresholded(SampleCount):
        def __init__(self, threshold, name="thresholded", dtype=None):
            super().__init__(name=name, dtype=dtype)
            self.threshold = threshold

    model = fixed_model(metrics=[Thresholded(0.5)])
    with pytest.raises(ValueError, match="get_config.*does not return the argument 'threshold'"):
        model.save(tmp_path / "model.npz")

    class Precision(SampleCount):  # named like tinynet's, and not registered
        pass

    model = fixed_model(metrics=[Precision(name="mine")])
    with pytest.raises(ValueError, match="would make tinynet.metrics.confusion_metrics.Precision.*register_keras_serializable"):
        model.save(tmp_path / "model.npz")
    assert not (tmp_path / "model.npz").exists()


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, error, words", [
    (lambda: Precision(thresholds=1.5), ValueError, ("thresholds must be in [0, 1]", "1.5")),
    (lambda: Recall(thresholds=[0.2, -0.1]), ValueError, ("thresholds must be in [0, 1]", "-0.1")),
    (lambda: Precision(thresholds="0.5"), TypeError, ("a number or a non-empty list of numbers",)),
    (lambda: Recall(thresholds=[]), TypeError, ("a number or a non-empty list of numbers",)),
    (lambda: Precision(top_k=0), ValueError, ("top_k must be None or an integer >= 1", "0")),
    (lambda: Recall(class_id=-1), ValueError, ("class_id must be None or an integer >= 0", "-1")),
    (lambda: AUC(num_thresholds=1), ValueError, ("num_thresholds must be an integer > 1", "got 1")),
    (lambda: AUC(thresholds=[0.5, 2]), ValueError, ("thresholds must be in [0, 1]", "2")),
    (lambda: AUC(curve="ROCK"), ValueError, ("Unknown AUC curve 'ROCK'", "'ROC', 'PR'")),
    (lambda: AUC(summation_method="trapezoid"), ValueError,
     ("Unknown AUC summation_method 'trapezoid'", "'interpolation', 'minoring', 'majoring'")),
    (lambda: AUC(num_labels=3), ValueError, ("num_labels is needed only with multi_label=True",)),
    (lambda: AUC(multi_label="yes"), TypeError, ("multi_label must be True or False",)),
    (lambda: AUC(label_weights=[1, -1]), ValueError, ("label_weights must be a list of numbers >= 0",)),
    (lambda: Precision(name=3), TypeError, ("name must be a string",)),
    (lambda: Recall(dtype="int32"), ValueError, ("dtype must be 'float32' or 'float64'",)),
])
def test_bad_arguments_are_refused_when_the_metric_is_made(make, error, words):
    with pytest.raises(error) as raised:
        make()
    for word in words:
        assert word in str(raised.value)


@pytest.mark.parametrize("metric, y_true, y_pred, words", [
    (Precision(class_id=4, name="p"), np.eye(4)[[0, 1]], np.full((2, 4), 0.25), ("class_id=4", "classes 0 to 3")),
    (Recall(top_k=5, name="r"), np.eye(4)[[0, 1]], np.full((2, 4), 0.25), ("top_k=5", "more than the 4 outputs")),
    (Precision(name="p"), np.array([[0], [1]]), np.full((2, 4), 0.25),
     ("y_true of y_pred's shape (2, 4)", "(2, 1)", "to_categorical")),
    (AUC(multi_label=True, num_labels=3, name="a"), np.eye(4)[[0, 1]], np.full((2, 4), 0.25),
     ("counts 3 labels", "4 columns")),
    (AUC(label_weights=[1, 2], name="a"), np.eye(4)[[0, 1]], np.full((2, 4), 0.25), ("2 label_weights",)),
])
def test_a_batch_the_metric_cannot_count_leaves_its_state_alone(array_backend, metric, y_true, y_pred, words):
    metric.reset_state()
    before = [backend.to_numpy(metric.true_positives), backend.to_numpy(metric.false_negatives)]
    with pytest.raises(ValueError) as raised:
        metric.update_state(y_true, y_pred)
    for word in words:
        assert word in str(raised.value)
    np.testing.assert_array_equal(backend.to_numpy(metric.true_positives), before[0])
    np.testing.assert_array_equal(backend.to_numpy(metric.false_negatives), before[1])


def test_sample_weights_of_another_shape_are_refused():
    with pytest.raises(ValueError, match=r"one sample_weight per sample, shape \(2,\), or one per prediction"):
        Precision().update_state(np.eye(3)[[0, 1]], np.full((2, 3), 0.5), sample_weight=[1.0, 2.0, 3.0])


def test_fit_refuses_labels_precision_cannot_count_before_the_weights_change():
    set_random_seed(0)
    model = Sequential([Dense(3, activation="softmax", input_shape=(5,))])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy", Precision()])
    weights = model.get_weights()
    with pytest.raises(ValueError, match="to_categorical"):
        model.fit(X, np.argmax(Y, axis=1), verbose=0)
    for got, expected in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert model.optimizer.iterations == 0


def test_compile_refuses_one_object_in_two_places_and_suggests_close_names():
    precision = Precision()
    with pytest.raises(ValueError, match="given to compile twice.*object of its own"):
        fixed_model(metrics=[precision], weighted_metrics=[precision])
    with pytest.raises(ValueError, match="Unknown metric 'precison'.*Did you mean 'precision'"):
        fixed_model(metrics=["precison"])
    with pytest.raises(ValueError, match="a name of its own.*Precision\\(name="):
        fixed_model(metrics=["auc", AUC(name="auc")])


def test_a_subclass_must_define_its_state_update_and_result():
    class Empty(Metric):
        pass

    empty = Empty()
    for call, word in [(empty.reset_state, "reset_state()"), (empty.result, "result()"),
                       (lambda: empty.update_state([1], [1]), "update_state(y_true, y_pred, sample_weight=None)")]:
        with pytest.raises(NotImplementedError, match=re.escape(f"Empty must define {word}")):
            call()


def test_a_metric_keeps_the_dtype_it_was_made_with(float64_backend):
    precision = Precision()
    assert precision.dtype == "float64" and backend.dtype_name(precision.result()) == "float64"
    single = AUC(dtype="float32")
    single.update_state(*batch("binary", False)[:2])
    assert backend.dtype_name(single.result()) == "float32"
    np.testing.assert_allclose(result_of(single), KERAS_CASES["auc-roc"][3], rtol=1e-6)
