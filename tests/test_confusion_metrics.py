"""Keras's other confusion-matrix metric objects: the counts (TruePositives...), the "X at Y" metrics
(PrecisionAtRecall...) and the F scores (F1Score, FBetaScore). Their numbers against Keras 3.15,
their counts over many batches, the threshold each "at" metric picks, names, saving, the
array_api_strict backend, and the errors."""

import json

import numpy as np
import pytest
from test_metric_objects import W, X, Y, batch, fixed_model, result_of

from tinynet import backend, metrics
from tinynet.callbacks import EarlyStopping
from tinynet.metrics import (
    F1Score,
    FalseNegatives,
    FalsePositives,
    FBetaScore,
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from tinynet.models import load_model

# (metric, data, weighted, Keras's result), with the data of test_metric_objects ("binary": 64
# predictions of one output; "multiclass": 48 softmax rows of 4 classes and one-hot targets;
# "multilabel": 40 samples of 3 labels). The results come from Keras 3.15.1 (JAX backend):
# keras.metrics.<the same class>(the same arguments), update_state on the same arrays (with
# sample_weights(n) where weighted), then result().
KERAS_CASES = {
    "true_positives": (lambda: TruePositives(), "binary", False, 22.0),
    "false_positives": (lambda: FalsePositives(), "binary", False, 6.0),
    "true_negatives": (lambda: TrueNegatives(), "binary", False, 30.0),
    "false_negatives": (lambda: FalseNegatives(), "binary", False, 6.0),
    "true_positives-thresholds": (lambda: TruePositives(thresholds=[0.2, 0.5, 0.8]), "binary", False,
                                  [28.0, 22.0, 14.0]),
    "false_positives-thresholds-weighted": (lambda: FalsePositives(thresholds=[0.2, 0.5, 0.8]), "binary", True,
                                            [26.5743408203125, 6.903020858764648, 0.0]),
    "true_negatives-weighted": (lambda: TrueNegatives(thresholds=0.3), "multiclass", True, 114.43067932128906),
    "false_negatives-one-in-a-list": (lambda: FalseNegatives(thresholds=[0.7]), "multilabel", False, 36.0),
    "true_positives-even-thresholds": (lambda: TruePositives(thresholds=[0.0, 0.25, 0.5, 0.75, 1.0]), "multiclass",
                                       False, [48.0, 21.0, 7.0, 0.0, 0.0]),
    "precision_at_recall": (lambda: PrecisionAtRecall(0.8), "binary", False, 0.8064516186714172),
    "recall_at_precision": (lambda: RecallAtPrecision(0.8), "binary", False, 0.8928571343421936),
    "sensitivity_at_specificity": (lambda: SensitivityAtSpecificity(0.7), "binary", False, 0.9285714030265808),
    "specificity_at_sensitivity": (lambda: SpecificityAtSensitivity(0.7), "binary", False, 0.9722222089767456),
    "precision_at_recall-weighted": (lambda: PrecisionAtRecall(0.6), "binary", True, 1.0),
    "recall_at_precision-weighted": (lambda: RecallAtPrecision(0.9), "binary", True, 0.8165306448936462),
    "sensitivity_at_specificity-10": (lambda: SensitivityAtSpecificity(0.5, num_thresholds=10), "binary", False,
                                      0.9285714030265808),
    "specificity_at_sensitivity-class_id": (lambda: SpecificityAtSensitivity(0.5, class_id=2), "multiclass", False,
                                            0.6666666865348816),
    "precision_at_recall-class_id-weighted": (lambda: PrecisionAtRecall(0.4, class_id=1), "multiclass", True,
                                              0.452359139919281),
    "recall_at_precision-unreachable": (lambda: RecallAtPrecision(1.0, class_id=0), "multiclass", False, 0.0),
    "recall_at_precision-of-all-outputs": (lambda: RecallAtPrecision(0.5), "multilabel", False, 1.0),
    "precision_at_recall-one-threshold": (lambda: PrecisionAtRecall(0.5, num_thresholds=1), "binary", False,
                                          0.7857142686843872),
    "sensitivity_at_specificity-two-thresholds": (lambda: SensitivityAtSpecificity(0.2, num_thresholds=2), "binary",
                                                  False, 0.0),
    "specificity_at_sensitivity-1": (lambda: SpecificityAtSensitivity(1.0), "binary", False, 0.5555555820465088),
    "precision_at_recall-0": (lambda: PrecisionAtRecall(0.0, num_thresholds=5), "binary", False, 1.0),
    "f1-none": (lambda: F1Score(), "multiclass", False,
                [0.24242420494556427, 0.3809523582458496, 0.19999995827674866, 0.1818181425333023]),
    "f1-micro": (lambda: F1Score(average="micro"), "multiclass", False, 0.24999994039535522),
    "f1-macro": (lambda: F1Score(average="macro"), "multiclass", False, 0.2512986660003662),
    "f1-weighted": (lambda: F1Score(average="weighted"), "multiclass", False, 0.24817818403244019),
    "f1-none-weighted": (lambda: F1Score(), "multiclass", True,
                         [0.18688388168811798, 0.4245748519897461, 0.17040841281414032, 0.1905447393655777]),
    "f1-threshold-multilabel": (lambda: F1Score(threshold=0.5), "multilabel", False,
                                [0.75, 0.7999999523162842, 0.7179487347602844]),
    "f1-micro-threshold-weighted": (lambda: F1Score(average="micro", threshold=0.4), "multilabel", True,
                                    0.7459420561790466),
    "fbeta-2": (lambda: FBetaScore(beta=2.0), "multiclass", False,
                [0.238095223903656, 0.3921568691730499, 0.21276593208312988, 0.17241376638412476]),
    "fbeta-half-macro-threshold": (lambda: FBetaScore(average="macro", beta=0.5, threshold=0.3), "multilabel", False,
                                   0.7217822074890137),
    "fbeta-weighted-weighted": (lambda: FBetaScore(average="weighted", beta=3.0, threshold=0.25), "multiclass", True,
                                0.4031922221183777),
    "f1-binary-column": (lambda: F1Score(threshold=0.5), "binary", False, [0.7857141494750977]),
    "f1-binary-column-argmax": (lambda: F1Score(), "binary", False, [0.6086956262588501]),
}


@pytest.mark.parametrize("case", list(KERAS_CASES))
def test_metric_objects_give_kerass_numbers(array_backend, case):
    make, data, weighted, expected = KERAS_CASES[case]
    metric = make()
    metric.update_state(*batch(data, weighted))
    got = result_of(metric)
    assert got.shape == np.shape(expected)  # one value per threshold or class, a number for one, as in Keras
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_kerass_docstring_examples(array_backend):
    # The examples of Keras 3.15's docstrings, with the values they show: (metric, y_true, y_pred,
    # result, sample_weight, result with it).
    examples = [
        (TruePositives(), [0, 1, 1, 1], [1, 0, 1, 1], 2.0, [0, 0, 1, 0], 1.0),
        (FalsePositives(), [0, 1, 0, 0], [0, 0, 1, 1], 2.0, [0, 0, 1, 0], 1.0),
        (TrueNegatives(), [0, 1, 0, 0], [1, 1, 0, 0], 2.0, [0, 0, 1, 0], 1.0),
        (FalseNegatives(), [0, 1, 1, 1], [0, 1, 0, 0], 2.0, [0, 0, 1, 0], 1.0),
        (SensitivityAtSpecificity(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], 0.5, [1, 1, 2, 2, 1], 1 / 3),
        (SpecificityAtSensitivity(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], 2 / 3, [1, 1, 2, 2, 2], 0.5),
        (PrecisionAtRecall(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], 0.5, [2, 2, 2, 1, 1], 1 / 3),
        (RecallAtPrecision(0.8), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], 0.5, [1, 0, 0, 1], 1.0),
    ]
    for metric, y_true, y_pred, expected, weights, weighted in examples:
        np.testing.assert_allclose(backend.to_numpy(metric(y_true, y_pred)), expected, rtol=1e-6)  # update, result
        metric.reset_state()
        metric.update_state(y_true, y_pred, sample_weight=weights)
        np.testing.assert_allclose(result_of(metric), weighted, rtol=1e-6)
    y_true = [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    y_pred = [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]
    f1, f2 = F1Score(threshold=0.5), FBetaScore(beta=2.0, threshold=0.5)
    f1.update_state(y_true, y_pred)
    f2.update_state(y_true, y_pred)
    np.testing.assert_allclose(result_of(f1), [0.5, 0.8, 0.6666667], rtol=1e-6)
    np.testing.assert_allclose(result_of(f2), [0.3846154, 0.90909094, 0.8333334], rtol=1e-6)


# --- the rule of the "at" metrics, on a case worked out by hand -----------------------------------

# Thresholds 0, 0.25, 0.5, 0.75 and 1 (num_thresholds=5). A prediction counts positive above one.
# Keras 3.15.1 gives the values of each case below (to float32's digits).
AT_TRUE = [0, 0, 0, 0, 1, 1, 1]
AT_PRED = [0.1, 0.3, 0.6, 0.9, 0.2, 0.4, 0.8]
# At each threshold:        0      0.25   0.5    0.75   1
# TP (of the 3 positives)   3      2      1      1      0
# FP (of the 4 negatives)   4      3      2      1      0
# recall = sensitivity      1      2/3    1/3    1/3    0
# precision                 3/7    2/5    1/3    1/2    0 (nothing predicted positive)
# specificity = TN / 4      0      1/4    1/2    3/4    1


@pytest.mark.parametrize("make, expected", [
    # recall >= 0.5 at 0 and 0.25: the larger precision is 3/7, at 0, not at 0.25, the closest recall.
    (lambda: PrecisionAtRecall(0.5, num_thresholds=5), 3 / 7),
    (lambda: PrecisionAtRecall(1 / 3, num_thresholds=5), 1 / 2),  # recall 1/3 reached exactly at 0.5 and 0.75
    (lambda: RecallAtPrecision(0.4, num_thresholds=5), 1.0),  # precision 3/7 and 2/5 reach 0.4
    (lambda: RecallAtPrecision(0.45, num_thresholds=5), 1 / 3),  # only 1/2, at 0.75
    (lambda: RecallAtPrecision(0.6, num_thresholds=5), 0.0),  # no threshold reaches it: 0
    (lambda: RecallAtPrecision(0.0, num_thresholds=5), 1.0),
    (lambda: SensitivityAtSpecificity(0.5, num_thresholds=5), 1 / 3),  # at 0.5 (1/2 exactly), 0.75 and 1
    (lambda: SensitivityAtSpecificity(0.2, num_thresholds=5), 2 / 3),
    (lambda: SpecificityAtSensitivity(1 / 3, num_thresholds=5), 3 / 4),
    (lambda: SpecificityAtSensitivity(1.0, num_thresholds=5), 0.0),  # only threshold 0, of specificity 0
])
def test_the_at_metrics_take_the_best_value_where_the_constraint_holds(array_backend, make, expected):
    metric = make()
    metric.update_state(AT_TRUE, AT_PRED)
    np.testing.assert_allclose(result_of(metric), expected, rtol=1e-6)


def test_the_at_metrics_clip_the_predictions_as_keras():
    # Keras 3.15.1 (JAX and TensorFlow) gives 1/3, with TP [1, 1, 0] and FP [1, 0, 0] at the thresholds
    # 0, 0.5, 1: 1.5 is taken as 1 (above 0 and 0.5, not above 1); 0 and -0.5 are above none.
    metric = SensitivityAtSpecificity(0.0, num_thresholds=3)
    metric.update_state([1, 1, 1, 0], [0.0, -0.5, 1.5, 0.2])
    assert result_of(metric) == pytest.approx(1 / 3)
    np.testing.assert_array_equal(backend.to_numpy(metric.true_positives), [[1, 1, 0]])
    np.testing.assert_array_equal(backend.to_numpy(metric.false_positives), [[1, 0, 0]])
    assert metric.thresholds == [0.0, 0.5, 1.0] and PrecisionAtRecall(0.5, num_thresholds=1).thresholds == [0.5]


# --- F scores: which outputs count as predicted ------------------------------------------------


def test_without_threshold_the_largest_of_each_row_counts_as_keras():
    # Keras 3.15.1: TP [1, 1, 1], FP [0, 1, 0], FN [0, 1, 0], scores [1, 0.5, 1] (less 1e-7 each):
    # equal largest values both count, a row of zeros predicts nothing, a row of negatives its largest.
    f1 = F1Score()
    f1.update_state([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]],
                    [[0.4, 0.4, 0.2], [0.0, 0.0, 0.0], [0.1, 0.2, 0.7], [-1.0, -0.5, -2.0]])
    np.testing.assert_array_equal(backend.to_numpy(f1.true_positives), [1, 1, 1])
    np.testing.assert_array_equal(backend.to_numpy(f1.false_positives), [0, 1, 0])
    np.testing.assert_array_equal(backend.to_numpy(f1.false_negatives), [0, 1, 0])
    np.testing.assert_allclose(result_of(f1), [0.9999998, 0.49999994, 0.9999998], rtol=1e-6)


def test_f_scores_take_the_targets_as_they_are_as_keras():
    # Keras 3.15.1 gives [0.2608695, 0.66666657]: a target of 0.3 counts as 0.3 of a positive.
    f1 = F1Score(threshold=0.5)
    f1.update_state([[0.3, 1.0], [1.0, 0.0]], [[0.9, 0.8], [0.2, 0.6]])
    np.testing.assert_allclose(result_of(f1), [0.2608695, 0.66666657], rtol=1e-6)
    # "weighted": a class with no target weighs nothing (Keras 3.15.1: 0.666666567325592).
    weighted = F1Score(average="weighted")
    weighted.update_state([[1, 0], [1, 0]], [[0.2, 0.8], [0.9, 0.1]])
    np.testing.assert_allclose(result_of(weighted), 0.666666567325592, rtol=1e-6)


def test_f_beta_follows_its_formula_from_the_counts(array_backend):
    y_true, y_pred, weights = batch("multiclass", True)
    for beta in (0.5, 1.0, 2.0):
        fbeta = FBetaScore(beta=beta)
        fbeta.update_state(y_true, y_pred, weights)
        tp, fp, fn = (backend.to_numpy(c).astype(np.float64) for c in (fbeta.true_positives, fbeta.false_positives,
                                                                         fbeta.false_negatives))
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        np.testing.assert_allclose(result_of(fbeta), (1 + beta**2) * precision * recall / (beta**2 * precision + recall),
                                   rtol=1e-6)
    f1, same = F1Score(average="macro"), FBetaScore(average="macro", beta=1.0)
    f1.update_state(y_true, y_pred)
    same.update_state(y_true, y_pred)
    assert result_of(f1) == result_of(same)


def test_f_score_counts_follow_their_definitions():
    # threshold 0.5; sample weights 1 and 3.
    f1 = FBetaScore(threshold=0.5, average="weighted")
    f1.update_state([[1, 0, 1], [0, 1, 1]], [[0.9, 0.7, 0.2], [0.6, 0.4, 0.8]], sample_weight=[1.0, 3.0])
    # predicted: [[1, 1, 0], [1, 0, 1]]
    np.testing.assert_array_equal(backend.to_numpy(f1.true_positives), [1, 0, 3])
    np.testing.assert_array_equal(backend.to_numpy(f1.false_positives), [3, 1, 0])
    np.testing.assert_array_equal(backend.to_numpy(f1.false_negatives), [0, 3, 1])
    np.testing.assert_array_equal(backend.to_numpy(f1.support), [1, 3, 4])


# --- over many batches ------------------------------------------------------------------------------


def state_of(metric):
    names = ("true_positives", "false_positives", "false_negatives", "true_negatives", "support")
    return {name: backend.to_numpy(getattr(metric, name)) for name in names if hasattr(metric, name)}


@pytest.mark.parametrize("case", ["true_positives-thresholds", "true_negatives-weighted", "precision_at_recall",
                                  "specificity_at_sensitivity-class_id", "recall_at_precision-weighted", "f1-none",
                                  "f1-micro-threshold-weighted", "fbeta-weighted-weighted"])
def test_counts_over_several_batches_are_the_counts_over_all_of_them(array_backend, case):
    make, data, weighted, _ = KERAS_CASES[case]
    y_true, y_pred, weights = batch(data, weighted)
    whole, pieces = make(), make()
    whole.update_state(y_true, y_pred, weights)
    for start, stop in [(0, 5), (5, 6), (6, 30), (30, y_true.shape[0])]:
        pieces.update_state(y_true[start:stop, ...], y_pred[start:stop, ...],
                            None if weights is None else weights[start:stop])
    expected = state_of(whole)
    for name, got in state_of(pieces).items():
        if weighted:  # float32 sums of weights (up to ~100) added in another order: rounding of a few 1e-6
            np.testing.assert_allclose(got, expected[name], rtol=1e-6, atol=1e-5, err_msg=name)
        else:
            np.testing.assert_array_equal(got, expected[name], err_msg=name)
    np.testing.assert_allclose(result_of(pieces), result_of(whole), rtol=1e-6)
    pieces.reset_state()
    assert not any(np.any(count) for count in state_of(pieces).values())


def test_integer_sample_weights_count_as_repeated_samples(array_backend):
    y_true, y_pred, _ = batch("multiclass", False, on_device=False)
    repeats = np.arange(len(y_true)) % 3  # 0, 1 or 2 times each sample
    for make in (lambda: TrueNegatives(thresholds=[0.2, 0.4]), lambda: SensitivityAtSpecificity(0.6, class_id=3),
                 lambda: F1Score(average="weighted"), lambda: FBetaScore(beta=2.0)):
        weighted, repeated = make(), make()
        weighted.update_state(y_true, y_pred, sample_weight=repeats.astype(np.float32))
        repeated.update_state(np.repeat(y_true, repeats, axis=0), np.repeat(y_pred, repeats, axis=0))
        for name, got in state_of(weighted).items():
            np.testing.assert_array_equal(got, state_of(repeated)[name], err_msg=name)
        assert result_of(weighted).tolist() == result_of(repeated).tolist()


def test_an_f_score_keeps_its_number_of_classes_over_resets():
    f1 = F1Score()
    assert f1.true_positives is None and result_of(f1) == 0  # no classes before the first batch
    f1.update_state(np.eye(3)[[0, 1]], np.eye(3)[[0, 2]])
    f1.reset_state()
    np.testing.assert_array_equal(backend.to_numpy(f1.support), [0, 0, 0])
    np.testing.assert_array_equal(result_of(f1), [0, 0, 0])
    # "micro" sums over the classes, so it takes any number of them, as Keras's.
    micro = F1Score(average="micro")
    micro.update_state(np.eye(3)[[0, 1]], np.eye(3)[[0, 2]])
    micro.update_state(np.eye(2)[[0, 1]], np.eye(2)[[0, 1]])
    np.testing.assert_allclose(result_of(micro), 3 / 4, rtol=1e-6)  # TP 3, FP 1, FN 1: P = R = 3/4


# --- in a model -------------------------------------------------------------------------------------


def model_with_the_new_metrics():
    """test_metric_objects' fixed Dense(3, softmax) model, compiled with the new metric objects."""
    return fixed_model(
        metrics=["true_positives", FalseNegatives(thresholds=[0.3, 0.6], name="fn"),
                 PrecisionAtRecall(0.5, name="p_at_r"), SpecificityAtSensitivity(0.6, class_id=1, name="s_at_s"),
                 "f1_score", FBetaScore(beta=2.0, average="macro", name="f2")],
        weighted_metrics=[RecallAtPrecision(0.36, name="r_at_p"), F1Score(average="weighted", name="wf1")],
    )


# From Keras 3.15.1 (JAX): the same model compiled alike, model.evaluate(X, Y, batch_size=7 and 60).
KERAS_EVALUATE = {"loss": 2.1458756923675537, "true_positives": 19.0, "fn": [35.0, 43.0],
                  "p_at_r": 0.3444444537162781, "s_at_s": 0.5,
                  "f1_score": [0.3684209883213043, 0.3414633572101593, 0.3414633572101593],
                  "f2": 0.35441526770591736, "r_at_p": 0.3166666626930237, "wf1": 0.34865206480026245}
# ... model.evaluate(X, Y, sample_weight=W, batch_size=16 and 60): no threshold reaches a weighted
# precision of 0.36.
KERAS_EVALUATE_WEIGHTED = {**KERAS_EVALUATE, "loss": 2.22585391998291, "r_at_p": 0.0, "wf1": 0.3052796721458435}


def test_evaluate_gives_kerass_values(array_backend):
    model = model_with_the_new_metrics()
    assert model.metrics_names == list(KERAS_EVALUATE)
    for batch_size in (7, 60):
        for weights, expected in ((None, KERAS_EVALUATE), (W, KERAS_EVALUATE_WEIGHTED)):
            got = model.evaluate(X, Y, sample_weight=weights, batch_size=batch_size, verbose=0, return_dict=True)
            assert list(got) == list(expected)
            for name, value in expected.items():
                np.testing.assert_allclose(got[name], value, rtol=1e-6, err_msg=name)


def test_evaluate_counts_every_sample_once_whatever_the_batch_size(array_backend):
    model = model_with_the_new_metrics()
    values = [model.evaluate(X, Y, batch_size=size, verbose=0)[1:] for size in (1, 7, 32, 60, None)]
    for other in values[1:]:
        for got, expected in zip(other, values[0], strict=True):
            np.testing.assert_array_equal(got, expected)


def test_fit_logs_each_epochs_values():
    model = model_with_the_new_metrics()
    history = model.fit(X, Y, batch_size=16, epochs=2, verbose=0, validation_data=(X[:20], Y[:20])).history
    for name, value in KERAS_EVALUATE.items():  # the weights do not change: each epoch gives the same
        np.testing.assert_allclose(history[name], [value] * 2, rtol=1e-6, err_msg=name)
    f1 = F1Score()
    f1.update_state(Y[:20], model.predict(X[:20]))
    np.testing.assert_allclose(history["val_f1_score"], [result_of(f1)] * 2, rtol=1e-6)


def test_metric_objects_survive_save_and_load(tmp_path):
    model = model_with_the_new_metrics()
    model.save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz") as stored:
        config = json.loads(str(stored["config"]))["compile"]
    assert config["metrics"][2] == {"class_name": "PrecisionAtRecall", "config": {
        "name": "p_at_r", "dtype": "float32", "recall": 0.5, "num_thresholds": 200, "class_id": None}}
    loaded = load_model(tmp_path / "model.npz")
    assert loaded.metrics_names == model.metrics_names
    for (_, saved), (_, again) in zip([*model.metrics, *model.weighted_metrics],
                                      [*loaded.metrics, *loaded.weighted_metrics], strict=True):
        assert type(again) is type(saved) and again is not saved and again.get_config() == saved.get_config()
    for got, expected in zip(loaded.evaluate(X, Y, sample_weight=W, verbose=0),
                             model.evaluate(X, Y, sample_weight=W, verbose=0), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-6)


# --- names and configs --------------------------------------------------------------------------


def test_compile_takes_kerass_names():
    # Keras 3.15's metrics.get takes each class by its snake-case name and by its class's name.
    model = fixed_model(metrics=["true_positives", "TruePositives", "false_positives", "TrueNegatives",
                                 "false_negatives", "f1_score", "f_beta_score", "F1Score", "FBetaScore"])
    assert model.metrics_names[1:] == ["true_positives", "TruePositives", "false_positives", "TrueNegatives",
                                       "false_negatives", "f1_score", "f_beta_score", "F1Score", "FBetaScore"]
    assert [type(metric) for _, metric in model.metrics] == [
        TruePositives, TruePositives, FalsePositives, TrueNegatives, FalseNegatives, F1Score, FBetaScore, F1Score,
        FBetaScore]
    assert [metric.name for _, metric in model.metrics] == model.metrics_names[1:]  # named as asked for, as Keras
    with pytest.raises(ValueError, match="Unknown metric 'fbeta_score'.*Did you mean 'f_beta_score'"):
        fixed_model(metrics=["fbeta_score"])  # FBetaScore's default name, which Keras's metrics.get does not know


@pytest.mark.parametrize("identifier, needs", [
    ("precision_at_recall", r"PrecisionAtRecall\(recall=0.8\)"), ("RecallAtPrecision", r"RecallAtPrecision\(precision="),
    ("sensitivity_at_specificity", "the specificity to reach"), (SpecificityAtSensitivity, "the sensitivity to reach"),
])
def test_an_at_metric_needs_its_value(identifier, needs):
    with pytest.raises(TypeError, match=needs):  # Keras: a TypeError, the argument missing
        fixed_model(metrics=[identifier])


def test_default_names_are_kerass():
    # Keras 3.15.1 names them true_positives, true_positives_1..., precision_at_recall...; the F
    # scores have a fixed default name.
    first, second = TruePositives().name, TruePositives().name
    assert first.startswith("true_positives") and second.startswith("true_positives_") and first != second
    for metric, name in [(FalsePositives(), "false_positives"), (TrueNegatives(), "true_negatives"),
                         (FalseNegatives(), "false_negatives"), (PrecisionAtRecall(0.5), "precision_at_recall"),
                         (RecallAtPrecision(0.5), "recall_at_precision"),
                         (SensitivityAtSpecificity(0.5), "sensitivity_at_specificity"),
                         (SpecificityAtSensitivity(0.5), "specificity_at_sensitivity")]:
        assert metric.name.startswith(name)
    assert [F1Score().name, F1Score().name, FBetaScore().name] == ["f1_score", "f1_score", "fbeta_score"]


def test_configs_are_kerass_and_make_the_metric_again(array_backend):
    # Keras 3.15.1's get_config of the same objects.
    keras_configs = [
        (TruePositives(thresholds=[0.3, 0.6], name="tp"), {"name": "tp", "dtype": "float32", "thresholds": [0.3, 0.6]}),
        (PrecisionAtRecall(0.8, num_thresholds=10, class_id=1, name="p"),
         {"name": "p", "dtype": "float32", "class_id": 1, "num_thresholds": 10, "recall": 0.8}),
        (RecallAtPrecision(1.0, name="r"),
         {"name": "r", "dtype": "float32", "class_id": None, "num_thresholds": 200, "precision": 1.0}),
        (F1Score(average="macro", threshold=0.5, name="f"),
         {"name": "f", "dtype": "float32", "average": "macro", "threshold": 0.5}),
        (FBetaScore(average="weighted", beta=2.0, name="fb"),
         {"name": "fb", "dtype": "float32", "average": "weighted", "beta": 2.0, "threshold": None}),
    ]
    y_true, y_pred, weights = batch("multiclass", True)
    for metric, config in keras_configs:
        assert metric.get_config() == config
        again = metrics.deserialize(json.loads(json.dumps(metrics.serialize(metric))))
        assert type(again) is type(metric) and again.get_config() == config
        metric.update_state(y_true, y_pred, weights)
        again.update_state(y_true, y_pred, weights)
        np.testing.assert_array_equal(result_of(again), result_of(metric))
    assert SpecificityAtSensitivity(0.25).sensitivity == 0.25 and SensitivityAtSpecificity(1).specificity == 1.0


def test_monitoring_the_new_metrics_maximises_the_rates_as_keras():
    for monitor in ("val_f1_score", "fbeta_score", "F1Score_1", "val_precision_at_recall", "recall_at_precision_2",
                    "sensitivity_at_specificity", "val_SpecificityAtSensitivity"):
        assert EarlyStopping(monitor=monitor).mode == "max", monitor


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, error, words", [
    (lambda: TruePositives(thresholds=1.5), ValueError, ("thresholds must be in [0, 1]", "1.5")),
    (lambda: FalseNegatives(thresholds=[]), TypeError, ("a number or a non-empty list of numbers",)),
    (lambda: PrecisionAtRecall(1.5), ValueError, ("PrecisionAtRecall recall must be in [0, 1]", "1.5")),
    (lambda: RecallAtPrecision(-0.1), ValueError, ("RecallAtPrecision precision must be in [0, 1]", "-0.1")),
    (lambda: SensitivityAtSpecificity(float("nan")), ValueError, ("specificity must be in [0, 1]", "nan")),
    (lambda: SpecificityAtSensitivity("0.5"), TypeError, ("sensitivity must be a number in [0, 1]", "'0.5'")),
    (lambda: PrecisionAtRecall(True), TypeError, ("recall must be a number in [0, 1]",)),
    (lambda: SensitivityAtSpecificity(0.5, num_thresholds=0), ValueError, ("num_thresholds must be an integer >= 1",)),
    (lambda: RecallAtPrecision(0.5, num_thresholds=2.5), ValueError, ("num_thresholds must be an integer >= 1",)),
    (lambda: PrecisionAtRecall(0.5, class_id=-1), ValueError, ("class_id must be None or an integer >= 0",)),
    (lambda: FBetaScore(beta=0.0), ValueError, ("FBetaScore beta must be a number > 0", "0.0")),
    (lambda: FBetaScore(beta=-2), ValueError, ("beta must be a number > 0", "-2")),
    (lambda: FBetaScore(beta="2"), TypeError, ("beta must be a number", "'2'")),
    (lambda: F1Score(average="macr"), ValueError, ("Unknown F1Score average 'macr'", "Did you mean 'macro'?")),
    (lambda: FBetaScore(average="mean"), ValueError, ("Unknown FBetaScore average 'mean'", "micro, weighted")),
    (lambda: F1Score(average=1), TypeError, ("average must be None, 'micro', 'macro' or 'weighted'", "got 1")),
    (lambda: F1Score(threshold=0.0), ValueError, ("threshold must be None or in (0, 1]", "0.0")),
    (lambda: F1Score(threshold=1.5), ValueError, ("threshold must be None or in (0, 1]", "1.5")),
    (lambda: F1Score(threshold=[0.5]), TypeError, ("threshold must be a number",)),
    (lambda: F1Score(name=1), TypeError, ("name must be a string",)),
])
def test_bad_arguments_are_refused_when_the_metric_is_made(make, error, words):
    with pytest.raises(error) as raised:
        make()
    for word in words:
        assert word in str(raised.value)


def batch_errors():
    """(metric, a batch it has counted, a batch it cannot count, words of the error)."""
    four, three = (np.eye(4)[[0, 1]], np.full((2, 4), 0.25)), (np.eye(3)[[0, 1]], np.full((2, 3), 0.3))
    return [
        (PrecisionAtRecall(0.5, class_id=3, name="p"), four, three, ("class_id=3", "classes 0 to 2")),
        (TruePositives(name="t"), four, (np.array([[0], [1]]), np.full((2, 4), 0.25)),
         ("y_true of y_pred's shape (2, 4)", "to_categorical")),
        (F1Score(name="f"), four, three, ("counts 4 classes", "3 columns")),
        (FBetaScore(average="weighted", name="fb"), four, (np.ones(4), np.full(4, 0.5)),
         ("needs y_pred of shape (samples, classes)", "(4,)")),
        (F1Score(average="micro", name="m"), four, (np.ones((2, 2, 2)), np.ones((2, 2, 2))),
         ("needs y_pred of shape (samples, classes)",)),
        (F1Score(name="w"), four, (*four, [1.0, 2.0, 3.0]), ("one sample_weight per sample, shape (2,)",)),
    ]


@pytest.mark.parametrize("metric, counted, refused, words", batch_errors())
def test_a_batch_the_metric_cannot_count_leaves_its_state_alone(array_backend, metric, counted, refused, words):
    metric.reset_state()
    metric.update_state(*counted)
    before, result = state_of(metric), result_of(metric)
    with pytest.raises(ValueError) as raised:
        metric.update_state(*refused)
    for word in words:
        assert word in str(raised.value)
    for name, value in state_of(metric).items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    np.testing.assert_array_equal(result_of(metric), result)
