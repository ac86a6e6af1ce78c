"""Time tinynet against Keras 3 (TensorFlow, JAX), PyTorch, scikit-learn and two NumPy loops.

    TINYNET_DATA_DIR=/path/to/mnist python benchmarks/compare.py [--quick] [--reps N] [--only a,b]

Three sections, each on real MNIST read from $TINYNET_DATA_DIR:
- mlp: the tutorial model 784-10(sigmoid)-10(softmax), SGD lr 0.01, batch 100, 5 epochs; per
  framework the median epoch time (epoch 1 left out as warm-up, and shown on its own), predict on
  the 10,000 test images, peak memory, and test accuracy over one seed per repetition;
- scaling: the same model at hidden widths 10..2048 and batch sizes 32..1000;
- cnn: the book's CNN, timed on a subset of the training set.
Every measurement runs in a fresh process (worker.py), one at a time, and the frameworks take
turns (A B C A B C ...) so that a slow spell of the machine does not land on one of them alone.
Results go to benchmarks/results/ as JSON and markdown (and scaling.png).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mnist_idx import find_data_dir  # noqa: E402
from peers import GPU_PEERS, PEERS  # noqa: E402
import report  # noqa: E402
from worker import RESULT_MARK  # noqa: E402

REFERENCE = {"cpu": "tinynet", "gpu": "tinynet-cupy"}
# The hand-tuned loop that only trains, and the same loop that also scores each batch as fit does.
YARDSTICKS = ("numpy-tuned", "numpy-tuned-metrics")
# tinynet's time divided by the rival's, at most: epoch and predict against each yardstick; the
# scaling grid against PyTorch where the matrix products dominate (hidden width 512 and up); the
# CNN epoch against Keras on TensorFlow.
TARGETS = {"epoch": 1.2, "predict": 1.5, "scaling": 1.1, "cnn": 1.0}
SCALING_RIVAL, BLAS_MIN_WIDTH, CNN_RIVAL = "torch", 512, "keras-tf"

MLP = {"hidden": 10, "batch_size": 100, "epochs": 5, "lr": 0.01, "predict_repeats": 5}
SCALING = {"widths": (10, 128, 512, 2048), "batch_sizes": (32, 100, 1000), "epochs": 2, "reps": 3,
           "lr": 0.01, "predict_repeats": 1}
# Three runs in turns, not one: a single run of Keras/TensorFlow's CNN read 2.50 s and 1.48 s a
# warm epoch in two runs of the same day.
CNN = {"batch_size": 100, "epochs": 2, "lr": 0.01, "train_limit": 10_000, "predict_repeats": 1, "reps": 3}
QUICK = {"reps": 1, "mlp_epochs": 2, "widths": (10, 512), "batch_sizes": (100,), "cnn_train_limit": 1000}

SECTION_PEERS = {
    "cpu": {"mlp": list(PEERS), "scaling": ["tinynet", *YARDSTICKS, "torch", "keras-tf"],
            "cnn": ["tinynet", "torch", "keras-tf"]},
    "gpu": {"mlp": list(GPU_PEERS), "scaling": list(GPU_PEERS), "cnn": list(GPU_PEERS)},
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5,
                        help="repetitions of the mlp section, one seed each (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 1 repetition, 2 epochs, a small scaling grid and CNN subset")
    parser.add_argument("--only", default="",
                        help="comma-separated peers to run, e.g. tinynet,numpy-tuned,torch")
    parser.add_argument("--sections", default="mlp,scaling,cnn",
                        help="comma-separated sections to run (default mlp,scaling,cnn)")
    parser.add_argument("--gpu", action="store_true",
                        help="tinynet on CuPy against PyTorch CUDA and Keras/JAX on a CUDA GPU")
    parser.add_argument("--out", type=Path, default=HERE / "results",
                        help="folder for the JSON, markdown and figure (default benchmarks/results)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds one worker may take")
    args = parser.parse_args(argv)
    if args.reps < 1:
        parser.error(f"--reps must be at least 1; got {args.reps}")
    known_sections = {"mlp", "scaling", "cnn"}
    args.sections = [s for s in args.sections.split(",") if s]
    unknown = set(args.sections) - known_sections
    if unknown:
        parser.error(f"--sections takes {sorted(known_sections)}; got {sorted(unknown)}")
    args.device = "gpu" if args.gpu else "cpu"
    known_peers = GPU_PEERS if args.gpu else PEERS
    args.only = [p for p in args.only.split(",") if p]
    unknown = set(args.only) - set(known_peers)
    if unknown:
        parser.error(f"--only takes peers from {sorted(known_peers)}; got {sorted(unknown)}")
    return args


def check_gpu():
    """Stop at once, saying why, when there is no NVIDIA GPU to run --gpu on."""
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        sys.exit("--gpu needs an NVIDIA GPU with its driver: nvidia-smi is not on this machine. "
                 "Run without --gpu to compare on the CPU.")
    if listing.returncode != 0 or "GPU" not in listing.stdout:
        sys.exit(f"--gpu needs an NVIDIA GPU: nvidia-smi -L reported none ({listing.stderr.strip()})")
    return listing.stdout.strip()


def machine(gpu_listing=None):
    """The facts a reader needs to weigh the numbers: CPU, cores, OS, Python, load."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    facts = {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(),
             "python": platform.python_version(), "load_average_at_start": os.getloadavg(),
             "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    if gpu_listing:
        facts["gpu"] = gpu_listing
    return facts


class Runner:
    """Starts one worker process per job, in order, and keeps every raw result."""

    def __init__(self, device, data_dir, timeout):
        self.peers = GPU_PEERS if device == "gpu" else PEERS
        self.data_dir = str(data_dir)
        self.timeout = timeout
        self.absent = {}     # peer -> reason; an absent peer is not started again
        self.raw = []

    def run(self, peer, task, job, label):
        if peer in self.absent:
            return {"absent": self.absent[peer]}
        env = {**os.environ, **self.peers[peer].env, "TINYNET_DATA_DIR": self.data_dir,
               "TF_CPP_MIN_LOG_LEVEL": "2",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))}
        job = {"peer": peer, "task": task, **job}
        started = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, str(HERE / "worker.py"), json.dumps(job)],
                                  capture_output=True, text=True, env=env, timeout=self.timeout)
            marked = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
            if done.returncode == 0 and marked:
                result = json.loads(marked[-1][len(RESULT_MARK):])
            else:
                tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
                result = {"failed": f"exit status {done.returncode}: " + " | ".join(tail)}
        except subprocess.TimeoutExpired:
            result = {"failed": f"took longer than --timeout {self.timeout} s"}
        wall = time.perf_counter() - started
        if "absent" in result:
            self.absent[peer] = result["absent"]
        self.raw.append({"job": job, "result": result, "process_wall_s": wall})
        print(f"  {label:<44} {summary_line(result)}  ({wall:.0f} s in all)", file=sys.stderr, flush=True)
        return result


def summary_line(result):
    if "absent" in result:
        return "absent: " + result["absent"][:80]
    if "failed" in result:
        return "FAILED: " + result["failed"][:200]
    warm = result["epoch_s"][1:] or result["epoch_s"]
    return f"epoch {statistics.median(warm):.3f} s, acc {result['test_accuracy']:.4f}"


# --- aggregation -------------------------------------------------------------------------------


def aggregate(results):
    """One row of the table from the results of several repetitions of one peer."""
    finished = [r for r in results if "epoch_s" in r]
    if not finished:
        first = results[0]
        return {"status": "absent" if "absent" in first else "failed",
                "reason": first.get("absent") or first.get("failed")}
    warm = [s for r in finished for s in (r["epoch_s"][1:] or r["epoch_s"])]
    first = [r["epoch_s"][0] for r in finished]
    predict = [s for r in finished for s in r["predict_s"]]
    accuracies = [r["test_accuracy"] for r in finished]
    return {
        "status": "ok",
        "runs": len(finished),
        "runs_not_finished": len(results) - len(finished),
        "epoch_median_s": statistics.median(warm),
        "epoch_min_s": min(warm),
        "epoch_max_s": max(warm),
        "first_epoch_median_s": statistics.median(first),
        "predict_median_s": statistics.median(predict),
        "predict_min_s": min(predict),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in finished),
        "rss_before_train_mib": max(r["rss_before_train_mib"] for r in finished),
        "accuracy_mean": statistics.fmean(accuracies),
        "accuracy_sd": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
        "versions": finished[0]["versions"],
        # What fit() spends outside its epochs (checking and converting the data), where known.
        "fit_outside_epochs_median_s": statistics.median(
            [r["fit_s"] - sum(r["epoch_s"]) for r in finished]) if "fit_s" in finished[0] else None,
        # The last epoch's mean training loss and accuracy per run, for the peers that compute them.
        "last_epoch_train": [{"loss": r["train_loss"][-1], "accuracy": r["train_accuracy"][-1]}
                             for r in finished] if "train_loss" in finished[0] else None,
    }


def add_ratios(rows, reference):
    """Each peer's epoch and predict time divided by the reference's (tinynet's)."""
    ref = rows.get(reference, {})
    for row in rows.values():
        if row["status"] == "ok" and ref.get("status") == "ok":
            row["epoch_vs_tinynet"] = row["epoch_median_s"] / ref["epoch_median_s"]
            row["predict_vs_tinynet"] = row["predict_median_s"] / ref["predict_median_s"]


def check_targets(out, reference):
    """tinynet's times as multiples of each yardstick's and rival's, each against its target."""
    def verdict(ratio, target):
        return {"ratio": ratio, "target": target, "met": ratio <= target}

    def ok(row):
        return row.get("status") == "ok"

    targets = {}
    mlp = out.get("mlp", {})
    ours = mlp.get(reference, {})
    for yardstick in YARDSTICKS:
        yard = mlp.get(yardstick, {})
        if ok(ours) and ok(yard):
            targets.setdefault("mlp", {})[yardstick] = {
                "epoch": verdict(ours["epoch_median_s"] / yard["epoch_median_s"], TARGETS["epoch"]),
                "predict": verdict(ours["predict_median_s"] / yard["predict_median_s"], TARGETS["predict"]),
            }
    cells = [c for c in out.get("scaling", []) if c["hidden"] >= BLAS_MIN_WIDTH
             and ok(c.get(reference, {})) and ok(c.get(SCALING_RIVAL, {}))]
    if cells:
        ratios = [c[reference]["epoch_median_s"] / c[SCALING_RIVAL]["epoch_median_s"] for c in cells]
        targets["scaling"] = {**verdict(max(ratios), TARGETS["scaling"]), "rival": SCALING_RIVAL,
                              "min_width": BLAS_MIN_WIDTH, "median_ratio": statistics.median(ratios),
                              "cells_met": sum(r <= TARGETS["scaling"] for r in ratios), "cells": len(ratios)}
    cnn = out.get("cnn", {})
    if ok(cnn.get(reference, {})) and ok(cnn.get(CNN_RIVAL, {})):
        ratio = cnn[reference]["epoch_median_s"] / cnn[CNN_RIVAL]["epoch_median_s"]
        targets["cnn"] = {**verdict(ratio, TARGETS["cnn"]), "rival": CNN_RIVAL}
    return targets or None


# --- the sections ------------------------------------------------------------------------------


def pick(peers, only):
    return [p for p in peers if not only or p in only]


def run_mlp(runner, peers, reps, epochs):
    per_peer = {p: [] for p in peers}
    for rep in range(reps):
        for peer in peers:
            job = {**MLP, "epochs": epochs, "seed": rep}
            per_peer[peer].append(runner.run(peer, "mlp", job, f"mlp {peer} seed {rep}"))
    return {peer: aggregate(results) for peer, results in per_peer.items()}


def run_scaling(runner, peers, widths, batch_sizes, reps):
    """Each cell's median warm epoch per peer over ``reps`` runs (seeds 0, 1, ...), peers in turns."""
    cells = []
    for width in widths:
        for batch_size in batch_sizes:
            per_peer = {p: [] for p in peers}
            for rep in range(reps):
                for peer in peers:
                    job = {**SCALING, "hidden": width, "batch_size": batch_size, "seed": rep}
                    job = {k: v for k, v in job.items() if k not in ("widths", "batch_sizes", "reps")}
                    per_peer[peer].append(runner.run(
                        peer, "mlp", job, f"scaling {peer} width {width} batch {batch_size} seed {rep}"))
            cells.append({"hidden": width, "batch_size": batch_size,
                          **{peer: aggregate(results) for peer, results in per_peer.items()}})
    return cells


def run_cnn(runner, peers, reps, train_limit):
    per_peer = {p: [] for p in peers}
    for rep in range(reps):
        for peer in peers:
            job = {k: v for k, v in {**CNN, "train_limit": train_limit, "seed": rep}.items() if k != "reps"}
            per_peer[peer].append(runner.run(peer, "cnn", job, f"cnn {peer} seed {rep}"))
    return {peer: aggregate(results) for peer, results in per_peer.items()}


def main(argv=None):
    args = parse_args(argv)
    gpu_listing = check_gpu() if args.gpu else None
    data_dir = find_data_dir()
    reps = QUICK["reps"] if args.quick else args.reps
    runner = Runner(args.device, data_dir, args.timeout)
    sections = SECTION_PEERS[args.device]
    reference = REFERENCE[args.device]
    settings = {"mlp": {**MLP, "reps": reps}, "scaling": dict(SCALING), "cnn": dict(CNN),
                "quick": args.quick, "device": args.device}
    if args.quick:
        settings["mlp"]["epochs"] = QUICK["mlp_epochs"]
        settings["scaling"].update(widths=QUICK["widths"], batch_sizes=QUICK["batch_sizes"], reps=QUICK["reps"])
        settings["cnn"].update(train_limit=QUICK["cnn_train_limit"], reps=QUICK["reps"])
    out = {"machine": machine(gpu_listing), "settings": settings, "targets": None}
    load = out["machine"]["load_average_at_start"][0]
    if load > 0.5:
        print(f"warning: the 1-minute load average is {load:.2f}; other processes will slow some "
              "measurements down", file=sys.stderr)
    started = time.perf_counter()

    if "mlp" in args.sections:
        print("mlp section", file=sys.stderr)
        rows = run_mlp(runner, pick(sections["mlp"], args.only), reps, settings["mlp"]["epochs"])
        add_ratios(rows, reference)
        out["mlp"] = rows
    if "scaling" in args.sections:
        print("scaling section", file=sys.stderr)
        out["scaling"] = run_scaling(runner, pick(sections["scaling"], args.only), settings["scaling"]["widths"],
                                     settings["scaling"]["batch_sizes"], settings["scaling"]["reps"])
    if "cnn" in args.sections:
        print("cnn section", file=sys.stderr)
        out["cnn"] = run_cnn(runner, pick(sections["cnn"], args.only), settings["cnn"]["reps"],
                             settings["cnn"]["train_limit"])
        add_ratios(out["cnn"], reference)

    out["targets"] = check_targets(out, reference)
    out["machine"]["load_average_at_end"] = os.getloadavg()
    out["total_wall_s"] = time.perf_counter() - started
    out["raw"] = runner.raw
    write_results(out, args, reference)


def write_results(out, args, reference):
    args.out.mkdir(parents=True, exist_ok=True)
    stem = ("quick-" if args.quick else "") + ("compare-gpu" if args.gpu else "compare")
    markdown = report.markdown(out, reference, YARDSTICKS)
    (args.out / f"{stem}.json").write_text(json.dumps(out, indent=1) + "\n")
    (args.out / f"{stem}.md").write_text(markdown)
    if out.get("scaling"):
        figure = args.out / (stem.replace("compare", "scaling") + ".png")
        report.scaling_figure(out["scaling"], figure, out["machine"])
    print(markdown)
    print(f"wrote {args.out / stem}.json, .md" + (" and the scaling figure" if out.get("scaling") else ""),
          file=sys.stderr)


if __name__ == "__main__":
    main()
