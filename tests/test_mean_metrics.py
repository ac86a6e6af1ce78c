"""The metrics that average a function over every sample (Mean, Sum, MeanMetricWrapper and
Keras's classes made of it: CategoricalAccuracy, MeanSquaredError...) and R2Score: their numbers
against Keras 3.15 and against their formulas, their state over batches, in compile, fit and
evaluate, saving, the array_api_strict backend, and the errors."""

import json

import numpy as np
import pytest
from sklearn.metrics import r2_score

from tinynet import backend, losses, metrics
from tinynet.callbacks import EarlyStopping
from tinynet.layers import Dense
from tinynet.metrics import (
    Accuracy,
    CategoricalAccuracy,
    Mean,
    MeanMetricWrapper,
    R2Score,
    RootMeanSquaredError,
    Sum,
)
from tinynet.models import Sequential, load_model
from tinynet.saving import register_keras_serializable
from tinynet.utils import set_random_seed

# The confusion metrics' data sets (the test directory is on the import path, as pytest runs it).
from test_metric_objects import multiclass_data, multilabel_data, sample_weights  # isort: skip

# --- data and cases: made the same way for Keras (same NumPy generator streams) ------------------


def sparse_data():
    """multiclass_data with integer labels."""
    y_true, y_pred = multiclass_data()
    return y_true.argmax(axis=1), y_pred


def labels_data():
    """multilabel_data with predictions rounded to 0/1: labels, for Accuracy's exact equality."""
    y_true, y_pred = multilabel_data()
    return y_true, np.round(y_pred)


def regression_data():
    """36 samples of 3 outputs, predictions near their targets."""
    generator = np.random.default_rng(5)
    y_true = generator.normal(size=(36, 3)).astype(np.float32)
    y_pred = (y_true + 0.5 * generator.normal(size=(36, 3))).astype(np.float32)
    return y_true, y_pred


# (metric class, its arguments, data)
CASES = {
    "accuracy": ("Accuracy", {}, labels_data),
    "binary_accuracy": ("BinaryAccuracy", {"threshold": 0.3}, multilabel_data),
    "categorical_accuracy": ("CategoricalAccuracy", {}, multiclass_data),
    "sparse_categorical_accuracy": ("SparseCategoricalAccuracy", {}, sparse_data),
    "top_k": ("TopKCategoricalAccuracy", {"k": 2}, multiclass_data),
    "sparse_top_k": ("SparseTopKCategoricalAccuracy", {"k": 2}, sparse_data),
    "mse": ("MeanSquaredError", {}, regression_data),
    "mae": ("MeanAbsoluteError", {}, regression_data),
    "mape": ("MeanAbsolutePercentageError", {}, regression_data),
    "msle": ("MeanSquaredLogarithmicError", {}, multilabel_data),
    "rmse": ("RootMeanSquaredError", {}, regression_data),
    "logcosh": ("LogCoshError", {}, regression_data),
    "cosine": ("CosineSimilarity", {}, regression_data),
    "r2": ("R2Score", {}, regression_data),
    "r2_variance_weighted": ("R2Score", {"class_aggregation": "variance_weighted_average"}, regression_data),
    "r2_adjusted": ("R2Score", {"num_regressors": 5}, regression_data),
    "kl_divergence": ("KLDivergence", {}, multiclass_data),
    "poisson": ("Poisson", {}, multiclass_data),
    "binary_crossentropy": ("BinaryCrossentropy", {"label_smoothing": 0.1}, multilabel_data),
    "categorical_crossentropy": ("CategoricalCrossentropy", {"label_smoothing": 0.1}, multiclass_data),
    "sparse_categorical_crossentropy": ("SparseCategoricalCrossentropy", {}, sparse_data),
    "hinge": ("Hinge", {}, multilabel_data),
    "squared_hinge": ("SquaredHinge", {}, multilabel_data),
    "categorical_hinge": ("CategoricalHinge", {}, multiclass_data),
}


# (y_true, y_pred) of each case in two batches of different sizes, so that a state carried from
# one batch to the next is tested. The results come from Keras 3.15.1 (JAX backend): the metric of
# the same class and arguments, update_state on the same two batches (with sample_weights(n)
# where weighted), then result(): (unweighted, weighted).
KERAS_RESULTS = {
    "accuracy": (0.75, 0.748388409614563),
    "binary_accuracy": (0.7166666984558105, 0.7130524516105652),
    "categorical_accuracy": (0.25, 0.23066070675849915),
    "sparse_categorical_accuracy": (0.25, 0.23066070675849915),
    "top_k": (0.4583333432674408, 0.4468057453632355),
    "sparse_top_k": (0.4583333432674408, 0.4468057453632355),
    "mse": (0.2614784240722656, 0.25155895948410034),
    "mae": (0.4141550064086914, 0.4082126021385193),
    "mape": (166.9387969970703, 161.95298767089844),
    "msle": (0.08482839912176132, 0.08763595670461655),
    "rmse": (0.511349618434906, 0.5015565156936646),
    "logcosh": (0.11861223727464676, 0.1144796833395958),
    "cosine": (0.7854955196380615, 0.7928235530853271),
    "r2": (0.6529683470726013, 0.668836772441864),
    "r2_variance_weighted": (0.6562988758087158, 0.6716331839561462),
    "r2_adjusted": (0.6359570026397705, 0.652603268623352),
    "kl_divergence": (1.7919607162475586, 1.8537451028823853),
    "poisson": (0.6979910731315613, 0.7134371399879456),
    "binary_crossentropy": (0.5710851550102234, 0.588502824306488),
    "categorical_crossentropy": (1.7838772535324097, 1.8414331674575806),
    "sparse_categorical_crossentropy": (1.7919650077819824, 1.8537492752075195),
    "hinge": (0.8093490600585938, 0.7944629192352295),
    "squared_hinge": (0.9421547055244446, 0.9327257871627808),
    "categorical_hinge": (1.221832275390625, 1.249743103981018),
}


def updated(metric, y_true, y_pred, weights=None):
    """``metric`` after two batches of the data (a third of it, then the rest)."""
    cut = len(y_pred) // 3
    for part in (slice(0, cut), slice(cut, None)):
        batch = [y_true[part], y_pred[part], None if weights is None else weights[part]]
        metric.update_state(*[None if array is None else backend.asarray(array) for array in batch])
    return metric


def result_of(metric):
    return float(backend.to_numpy(metric.result()))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", list(CASES))
def test_metric_classes_give_kerass_numbers(array_backend, case, weighted):
    class_name, arguments, data = CASES[case]
    y_true, y_pred = data()
    weights = sample_weights(len(y_pred)) if weighted else None
    metric = updated(getattr(metrics, class_name)(**arguments), y_true, y_pred, weights)
    np.testing.assert_allclose(result_of(metric), KERAS_RESULTS[case][weighted], rtol=2e-6)


MEANS_OF_FUNCTIONS = [
    ("CategoricalAccuracy", metrics.categorical_accuracy, multiclass_data),
    ("BinaryAccuracy", metrics.binary_accuracy, multilabel_data),
    ("MeanSquaredError", losses.mean_squared_error, regression_data),
    ("KLDivergence", losses.kl_divergence, multiclass_data),
    ("Hinge", losses.hinge, multilabel_data),
]


@pytest.mark.parametrize("class_name, function, data", MEANS_OF_FUNCTIONS)
def test_a_wrapper_is_the_weighted_mean_of_its_functions_values_over_every_sample(class_name, function, data):
    y_true, y_pred = data()
    weights = sample_weights(len(y_pred))
    values = backend.to_numpy(function(backend.asarray(y_true), backend.asarray(y_pred))).astype(np.float64)
    values = values.reshape(len(values), -1).mean(axis=1)  # each sample's value
    for given, expected in ((None, values.mean()), (weights, np.sum(weights * values) / np.sum(weights))):
        for metric in (getattr(metrics, class_name)(), MeanMetricWrapper(function)):
            np.testing.assert_allclose(result_of(updated(metric, y_true, y_pred, given)), expected, rtol=1e-5)


def test_mean_and_sum_follow_kerass_docstring_examples(array_backend):
    mean, total = Mean(), Sum()
    assert float(backend.to_numpy(mean([1, 3, 5, 7]))) == 4.0
    assert float(backend.to_numpy(total([1, 3, 5, 7]))) == 16.0
    mean.reset_state(), total.reset_state()
    assert result_of(mean) == 0.0 and result_of(total) == 0.0  # nothing seen: 0, as Keras divides
    assert float(backend.to_numpy(mean([1, 3, 5, 7], sample_weight=[1, 1, 0, 0]))) == 2.0
    assert float(backend.to_numpy(total([1, 3, 5, 7], sample_weight=[1, 1, 0, 0]))) == 4.0


def test_mean_reduces_values_of_several_axes_per_sample_as_keras():
    generator = np.random.default_rng(6)
    values = generator.random((5, 3, 2)).astype(np.float32)
    per_sample_weights = generator.random(5).astype(np.float32)
    per_value_weights = generator.random((5, 3, 2)).astype(np.float32)
    sample_means = values.reshape(5, -1).mean(axis=1)
    cases = [
        (None, sample_means.mean()),
        (per_sample_weights, np.sum(per_sample_weights * sample_means) / per_sample_weights.sum()),
        # Weights of the values' shape weigh each value; each sample then weighs its mean weight.
        (per_value_weights, (per_value_weights * values).reshape(5, -1).mean(axis=1).sum()
         / per_value_weights.reshape(5, -1).mean(axis=1).sum()),
    ]
    for weights, expected in cases:
        mean = Mean()
        mean.update_state(values, sample_weight=weights)
        np.testing.assert_allclose(result_of(mean), expected, rtol=1e-6)
    scalar = Mean()
    scalar.update_state(3.0)
    scalar.update_state(5.0)
    assert result_of(scalar) == 4.0  # a single number counts as one sample


def test_root_mean_squared_error_is_the_root_of_the_whole_mean_not_a_mean_of_roots():
    y_true, y_pred = regression_data()
    squared = ((y_pred - y_true).astype(np.float64) ** 2).mean(axis=1)
    metric = updated(RootMeanSquaredError(), y_true, y_pred)
    np.testing.assert_allclose(result_of(metric), np.sqrt(squared.mean()), rtol=1e-6)
    cut = len(y_pred) // 3
    mean_of_roots = (np.sqrt(squared[:cut].mean()) + np.sqrt(squared[cut:].mean())) / 2
    assert abs(result_of(metric) - mean_of_roots) > 1e-3


@pytest.mark.parametrize("aggregation, multioutput",
                         [("uniform_average", "uniform_average"),
                          ("variance_weighted_average", "variance_weighted"), (None, "raw_values")])
def test_r2_score_is_scikit_learns(aggregation, multioutput):
    y_true, y_pred = regression_data()
    weights = sample_weights(len(y_pred))
    for given in (None, weights):
        metric = updated(R2Score(class_aggregation=aggregation), y_true, y_pred, given)
        expected = r2_score(y_true, y_pred, sample_weight=given, multioutput=multioutput)
        np.testing.assert_allclose(backend.to_numpy(metric.result()), expected, rtol=1e-5)


def test_adjusted_r2_score_follows_its_formula_and_falls_back_with_too_few_samples():
    y_true, y_pred = regression_data()
    plain = result_of(updated(R2Score(), y_true, y_pred))
    seen = y_true.size  # Keras counts every target
    adjusted = result_of(updated(R2Score(num_regressors=5), y_true, y_pred))
    np.testing.assert_allclose(adjusted, 1 - (1 - plain) * (seen - 1) / (seen - 5 - 1), rtol=1e-6)
    few = R2Score(num_regressors=5)
    few.update_state(y_true[:2], y_pred[:2])  # 6 targets: one too few for 5 regressors
    with pytest.warns(UserWarning, match="num_regressors=5 needs more than 6 targets.*plain score"):
        value = result_of(few)
    plain_few = R2Score()
    plain_few.update_state(y_true[:2], y_pred[:2])
    assert value == result_of(plain_few)


def test_r2_score_of_targets_that_never_vary_is_zero():
    metric = R2Score(class_aggregation=None)
    metric.update_state(np.array([[1.0, 0.0], [1.0, 2.0]]), np.array([[0.5, 0.0], [1.5, 2.0]]))
    np.testing.assert_array_equal(backend.to_numpy(metric.result()), [0.0, 1.0])


def test_names_and_configs_are_kerass_and_make_the_metric_again():
    assert CategoricalAccuracy().name == "categorical_accuracy"
    assert metrics.LogCoshError().name == "logcosh"
    assert MeanMetricWrapper(losses.mean_squared_error).name.startswith("mean_metric_wrapper")
    assert metrics.BinaryAccuracy(threshold=0.3).get_config() == {"name": "binary_accuracy", "dtype": "float32",
                                                                  "threshold": 0.3}
    assert R2Score(num_regressors=2).get_config() == {"name": "r2_score", "dtype": "float32",
                                                      "class_aggregation": "uniform_average", "num_regressors": 2}
    wrapper = MeanMetricWrapper(metrics.top_k_categorical_accuracy, name="top2", k=2)
    assert wrapper.get_config() == {"name": "top2", "dtype": "float32", "k": 2, "fn": "top_k_categorical_accuracy"}
    again = MeanMetricWrapper.from_config(json.loads(json.dumps(wrapper.get_config())))
    assert again.fn is metrics.top_k_categorical_accuracy and again.fn_kwargs == {"k": 2}


# --- in a model --------------------------------------------------------------------------------

X = np.random.default_rng(7).random((60, 4), dtype=np.float32)
LABELS = np.random.default_rng(8).integers(0, 3, 60)
Y = np.eye(3, dtype=np.float32)[LABELS]


def fixed_model(**compiled):
    set_random_seed(0)
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", **compiled)
    return model


def test_metric_classes_in_compile_give_what_the_names_give(array_backend):
    trained = {}
    for kind, compiled in (("class", [CategoricalAccuracy(), metrics.CategoricalCrossentropy(name="ce")]),
                           ("name", ["categorical_accuracy", "categorical_crossentropy"])):
        model = fixed_model(metrics=compiled)
        trained[kind] = model, model.fit(X, Y, batch_size=16, epochs=2, verbose=0).history
    (by_class, history), (by_name, expected) = trained["class"], trained["name"]
    assert by_class.metrics_names == ["loss", "categorical_accuracy", "ce"]
    np.testing.assert_allclose(history["categorical_accuracy"], expected["categorical_accuracy"], rtol=1e-6)
    np.testing.assert_allclose(history["ce"], expected["categorical_crossentropy"], rtol=1e-5)
    np.testing.assert_allclose(history["ce"], history["loss"], rtol=1e-5)  # the same loss, watched
    np.testing.assert_allclose(by_class.evaluate(X, Y, batch_size=7, verbose=0),
                               by_name.evaluate(X, Y, batch_size=7, verbose=0), rtol=1e-5)


def test_names_give_the_classes_as_keras_and_accuracy_keeps_its_choice_by_shapes():
    model = fixed_model(metrics=["accuracy", "Accuracy", "root_mean_squared_error", "R2Score", "kl_divergence"])
    assert model.metrics_names == ["loss", "accuracy", "Accuracy", "root_mean_squared_error", "R2Score",
                                   "kl_divergence"]
    assert [type(m) for _, m in model.metrics[1:]] == [Accuracy, RootMeanSquaredError, R2Score,
                                                        metrics.KLDivergence]
    logs = model.evaluate(X, Y, verbose=0, return_dict=True)
    hits = np.mean(model.predict(X, verbose=0).argmax(axis=1) == LABELS)
    assert logs["accuracy"] == pytest.approx(hits)
    assert logs["Accuracy"] == 0.0  # Keras's Accuracy: probabilities never equal one-hot targets exactly


def test_weighted_metric_classes_get_the_sample_weights():
    weights = sample_weights(len(X))
    model = fixed_model(metrics=["categorical_accuracy"], weighted_metrics=[CategoricalAccuracy(name="weighted")])
    logs = model.evaluate(X, Y, sample_weight=weights, verbose=0, return_dict=True)
    hits = (model.predict(X, verbose=0).argmax(axis=1) == LABELS).astype(np.float64)
    assert logs["categorical_accuracy"] == pytest.approx(hits.mean())
    assert logs["weighted"] == pytest.approx(np.sum(weights * hits) / np.sum(weights), rel=1e-6)


def test_rising_metrics_are_maximised_when_monitored():
    assert EarlyStopping(monitor="val_r2_score").mode == "max"
    assert EarlyStopping(monitor="val_cosine_similarity").mode == "max"
    assert EarlyStopping(monitor="val_root_mean_squared_error").mode == "min"


def test_metric_classes_survive_save_and_load(tmp_path):
    model = fixed_model(metrics=[CategoricalAccuracy(), metrics.BinaryAccuracy(threshold=0.3),
                                 MeanMetricWrapper(losses.mean_squared_error, name="mse_of_mine"),
                                 R2Score(class_aggregation="variance_weighted_average")])
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    for (_, saved), (_, again) in zip(model.metrics, loaded.metrics, strict=True):
        assert type(again) is type(saved) and again.get_config() == saved.get_config()
    assert loaded.metrics[2][1].fn is losses.mean_squared_error
    np.testing.assert_allclose(loaded.evaluate(X, Y, verbose=0), model.evaluate(X, Y, verbose=0), rtol=1e-6)


def test_a_wrapper_of_ones_own_function_is_saved_by_its_name(tmp_path):
    @register_keras_serializable("tests")
    def registered_error(y_true, y_pred):
        return (y_true - y_pred) ** 2

    def given_error(y_true, y_pred):
        return abs(y_true - y_pred)

    model = fixed_model(metrics=[MeanMetricWrapper(registered_error, name="registered"),
                                 MeanMetricWrapper(given_error, name="given")])
    model.save(tmp_path / "model.npz")
    with pytest.raises(ValueError, match="given_error"):
        load_model(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz", custom_objects={"given_error": given_error})
    assert [metric.fn for _, metric in loaded.metrics] == [registered_error, given_error]

    nameless = fixed_model(metrics=[MeanMetricWrapper(lambda y_true, y_pred: y_pred, name="nameless")])
    with pytest.raises(ValueError, match="cannot save the function of the metric 'nameless'.*has none"):
        nameless.save(tmp_path / "nameless.npz")
    assert not (tmp_path / "nameless.npz").exists()


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", [Mean(), Sum(), "Mean", Mean, "MeanMetricWrapper", MeanMetricWrapper])
def test_compile_refuses_what_cannot_take_targets_before_changing_anything(metric):
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    with pytest.raises(TypeError, match="takes the values to average itself|needs the function to average"):
        model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=[metric])
    assert model.loss is None


@pytest.mark.parametrize("make, error, words", [
    (lambda: MeanMetricWrapper("mse"), TypeError, "needs a function fn"),
    (lambda: R2Score(class_aggregation="mean"), ValueError, "class_aggregation must be one of"),
    (lambda: R2Score(num_regressors=-1), ValueError, "num_regressors must be an integer >= 0"),
    (lambda: metrics.CosineSimilarity(axis=0), ValueError, "last axis only"),
])
def test_bad_arguments_are_refused_when_the_metric_is_made(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_weights_that_do_not_fit_the_values_are_refused_and_leave_the_state_alone():
    mean = Mean()
    mean.update_state([1.0, 2.0])
    with pytest.raises(ValueError, match=r"Mean 'mean' needs a sample_weight of the values' shape \(3,\).*got \(2,\)"):
        mean.update_state([1.0, 2.0, 3.0], sample_weight=[1.0, 1.0])
    assert result_of(mean) == 1.5
    r2 = R2Score()
    with pytest.raises(ValueError, match=r"R2Score 'r2_score' needs y_true and y_pred of one shape"):
        r2.update_state(np.zeros((4, 2)), np.zeros((4, 3)))
