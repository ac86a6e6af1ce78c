"""PyTorch in eager mode: nn.Sequential, CrossEntropyLoss on logits (log-softmax fused in), optim.SGD.

On the CPU it runs with torch.set_num_threads(os.cpu_count()), one intra-op thread per core.
Weights start Glorot-uniform with zero biases, as in Keras, so accuracies compare like for like.
"""
import os
import time

import numpy as np
import torch
from torch import nn

from .common import PeerAbsent, accuracy, time_predict


def versions():
    return {"torch": torch.__version__}


def pick_device(job):
    """torch.device for the job, and a function that waits for it to finish queued work."""
    if job["device"] == "gpu":
        if not torch.cuda.is_available():
            raise PeerAbsent(f"torch {torch.__version__} sees no CUDA device")
        return torch.device("cuda"), torch.cuda.synchronize
    torch.set_num_threads(os.cpu_count())
    return torch.device("cpu"), lambda: None


def keras_like_init(model):
    for layer in model.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)


def train(model, data, job, device, sync):
    """Seconds per epoch of plain minibatch SGD over a fresh random order each epoch."""
    x = torch.from_numpy(data.x_train).to(device)
    labels = torch.from_numpy(data.labels_train.astype(np.int64)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=job["lr"])
    loss_fn = nn.CrossEntropyLoss()
    batch_size = job["batch_size"]
    epoch_s = []
    for _ in range(job["epochs"]):
        start = time.perf_counter()
        order = torch.randperm(len(x), device=device)
        for first in range(0, len(x), batch_size):
            index = order[first:first + batch_size]
            optimizer.zero_grad()
            loss_fn(model(x[index]), labels[index]).backward()
            optimizer.step()
        sync()
        epoch_s.append(time.perf_counter() - start)
    return epoch_s


def evaluate(model, data, job, device, sync):
    x_test = torch.from_numpy(data.x_test).to(device)
    model.eval()

    @torch.inference_mode()
    def predict(x):
        # In chunks of 1024 rows (tinynet's predict works in chunks too, sized by memory): the CNN's
        # first activations for all 10,000 images at once would take 0.7 GB.
        return torch.cat([torch.softmax(model(part), dim=1) for part in torch.split(x, 1024)])

    predict_s, probs = time_predict(predict, x_test, job["predict_repeats"], sync)
    return {"predict_s": predict_s, "test_accuracy": accuracy(probs.cpu().numpy(), data.labels_test)}


def run(model, data, job):
    device, sync = pick_device(job)
    keras_like_init(model)
    model.to(device)
    result = {"epoch_s": train(model, data, job, device, sync)}
    result.update(evaluate(model, data, job, device, sync))
    return result


def run_mlp(job, data):
    torch.manual_seed(job["seed"])
    model = nn.Sequential(nn.Linear(data.x_train.shape[1], job["hidden"]), nn.Sigmoid(),
                          nn.Linear(job["hidden"], 10))
    return run(model, data, job)


def run_cnn(job, data):
    """The book's CNN; PyTorch wants channels first, so the NHWC images are transposed once, untimed."""
    torch.manual_seed(job["seed"])
    model = nn.Sequential(
        nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 10))
    channels_first = type(data)(
        np.ascontiguousarray(data.x_train.transpose(0, 3, 1, 2)), data.labels_train, data.onehot_train,
        np.ascontiguousarray(data.x_test.transpose(0, 3, 1, 2)), data.labels_test)
    return run(model, channels_first, job)
