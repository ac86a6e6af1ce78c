"""scikit-learn's MLPClassifier set to the tutorial's maths, one ``partial_fit`` per epoch.

hidden_layer_sizes=(10,), logistic (sigmoid) hidden layer, plain SGD at 0.01 in batches of 100,
no momentum. With integer labels of more than two classes its output layer is softmax with
log-loss, as in the tutorial. alpha=0 turns off its default L2 penalty, which the others lack.
Its own initialiser is kept (uniform, bounds sqrt(2 / (fan_in + fan_out)) for logistic units).
"""
import time

import numpy as np
import sklearn
from sklearn.neural_network import MLPClassifier

from .common import PeerAbsent, accuracy, time_predict


def versions():
    return {"scikit-learn": sklearn.__version__}


def run_mlp(job, data):
    if job["device"] == "gpu":
        raise PeerAbsent("scikit-learn's MLPClassifier runs on the CPU only")
    model = MLPClassifier(hidden_layer_sizes=(job["hidden"],), activation="logistic", solver="sgd",
                          learning_rate_init=job["lr"], batch_size=job["batch_size"], momentum=0.0,
                          nesterovs_momentum=False, alpha=0.0, random_state=job["seed"])
    classes = np.arange(10)
    epoch_s = []
    for _ in range(job["epochs"]):
        start = time.perf_counter()
        model.partial_fit(data.x_train, data.labels_train, classes=classes)
        epoch_s.append(time.perf_counter() - start)
    predict_s, probs = time_predict(model.predict_proba, data.x_test, job["predict_repeats"])
    return {"epoch_s": epoch_s, "predict_s": predict_s, "test_accuracy": accuracy(probs, data.labels_test)}
