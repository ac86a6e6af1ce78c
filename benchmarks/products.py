"""The matrix products alone: NumPy's BLAS against PyTorch's on the wide cells of the scaling grid.

    python benchmarks/products.py [--rounds 5] [--out benchmarks/results/products.md]

At hidden width 512 and up, two products make most of a training step of the 784-H-10 MLP: the
forward ``x W1`` (batch x 784 times 784 x H) and the backward ``dL/dW1 = x^T g`` (784 x batch
times batch x H); the other products are 10 units wide. This times those two, per cell of the
grid, once as tinynet's Dense layer computes them on NumPy (its column-major kernel, ``x W`` and
``(g^T x)^T``) and once as PyTorch's ``nn.Linear`` does (``x W^T`` and ``g^T x`` with a row-major
``(H, 784)`` weight), each library in a process of its own, the two taking turns for ``--rounds``
rounds. The table (printed, and written to ``--out``) gives the seconds those products take over
an epoch (60,000 images) and their ratio: how far behind PyTorch NumPy's BLAS puts tinynet in the
scaling section before any of its own work. The arrays are random: a product's time does not
depend on the numbers in it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import timeit
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from compare import machine  # noqa: E402

WIDTHS, BATCH_SIZES, N_IN, TRAIN_SIZE = (512, 2048), (32, 100, 1000), 784, 60_000
LIBRARIES = ("numpy", "torch")
RESULT_MARK = "PRODUCTS "


def numpy_products(batch_size, width, rng):
    """tinynet's two products on NumPy, with its Dense layer's kernel (layout included)."""
    from tinynet.layers import Dense

    layer = Dense(width)
    layer.build((None, N_IN))
    kernel = layer.kernel
    x = rng.random((batch_size, N_IN), dtype=np.float32)
    g = rng.random((batch_size, width), dtype=np.float32)
    return (lambda: x @ kernel), (lambda: (g.T @ x).T), np.__version__


def torch_products(batch_size, width, rng):
    """nn.Linear's two products: ``x W^T`` forward, ``g^T x`` for the weight's gradient."""
    import torch

    torch.set_num_threads(os.cpu_count())
    weight = torch.from_numpy(rng.random((width, N_IN), dtype=np.float32))
    x = torch.from_numpy(rng.random((batch_size, N_IN), dtype=np.float32))
    g = torch.from_numpy(rng.random((batch_size, width), dtype=np.float32))
    return (lambda: x @ weight.T), (lambda: g.T @ x), torch.__version__


def epoch_seconds(library):
    """{"width,batch": seconds the two products take over one epoch} in this process."""
    rng = np.random.default_rng(0)
    seconds = {}
    for width in WIDTHS:
        for batch_size in BATCH_SIZES:
            forward, weight_gradient, version = {"numpy": numpy_products, "torch": torch_products}[library](
                batch_size, width, rng)
            per_step = sum(min(timeit.repeat(f, number=5, repeat=5)) / 5 for f in (forward, weight_gradient))
            seconds[f"{width},{batch_size}"] = per_step * -(-TRAIN_SIZE // batch_size)
    return {"version": version, "seconds": seconds}


def run_worker(library):
    """epoch_seconds in a fresh process; {"absent": reason} when the library is not installed."""
    done = subprocess.run([sys.executable, __file__, "--worker", library], capture_output=True, text=True)
    marked = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode == 0 and marked:
        return json.loads(marked[-1][len(RESULT_MARK):])
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
    return {"absent": " ".join(tail) or f"exit status {done.returncode}"}


def table(runs):
    """Markdown: per cell the median epoch seconds of each library and numpy / torch."""
    lines = ["| hidden | batch | numpy (tinynet's layout) s | torch s | numpy ÷ torch |",
             "| ---: | ---: | ---: | ---: | ---: |"]
    ratios = []
    for width in WIDTHS:
        for batch_size in BATCH_SIZES:
            key = f"{width},{batch_size}"
            median = {lib: statistics.median(r["seconds"][key] for r in runs[lib]) for lib in LIBRARIES}
            ratios.append(median["numpy"] / median["torch"])
            lines.append(f"| {width} | {batch_size} | {median['numpy']:.3f} | {median['torch']:.3f} "
                         f"| {ratios[-1]:.2f}x |")
    return lines, ratios


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each library once per round (default 5)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "products.md",
                        help="markdown file for the table (default benchmarks/results/products.md)")
    parser.add_argument("--worker", choices=LIBRARIES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(RESULT_MARK + json.dumps(epoch_seconds(args.worker)), flush=True)
        return
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1; got {args.rounds}")
    runs = {lib: [] for lib in LIBRARIES}
    for _ in range(args.rounds):
        for lib in LIBRARIES:
            result = run_worker(lib)
            if "absent" in result:
                sys.exit(f"{lib} could not run, so there is nothing to compare: {result['absent']}")
            runs[lib].append(result)
    facts = machine()
    versions = ", ".join(f"{lib} {runs[lib][0]['version']}" for lib in LIBRARIES)
    lines, ratios = table(runs)
    report = "\n".join([
        "# The two largest matrix products of a step, NumPy against PyTorch", "",
        f"{facts['cpu']}, {facts['cores']} cores; Python {facts['python']}, {versions}; "
        f"run {facts['date']}; medians over {args.rounds} rounds", "", *lines, "",
        f"NumPy's products take {min(ratios):.2f}x-{max(ratios):.2f}x PyTorch's "
        f"(median {statistics.median(ratios):.2f}x) over these cells.", ""])
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
