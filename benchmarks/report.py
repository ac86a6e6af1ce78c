"""Turn compare.py's results into the markdown tables and the scaling figure."""

FRAMEWORK_NOTES = {
    "tinynet": "tinynet, NumPy backend",
    "keras-tf": "Keras 3 on TensorFlow",
    "keras-jax": "Keras 3 on JAX",
    "torch": "PyTorch eager",
    "sklearn": "scikit-learn MLPClassifier",
    "numpy-plain": "NumPy loop, plain",
    "numpy-tuned": "NumPy loop, hand-tuned",
    "numpy-tuned-metrics": "NumPy loop, hand-tuned, with loss and accuracy",
    "tinynet-cupy": "tinynet, CuPy backend",
    "torch-cuda": "PyTorch eager, CUDA",
    "keras-jax-gpu": "Keras 3 on JAX, GPU",
}


def markdown(out, reference, yardsticks):
    lines = ["# tinynet against other frameworks", ""]
    lines += header(out)
    if out.get("targets"):
        lines += targets_section(out["targets"], reference)
    if out.get("mlp"):
        lines += mlp_section(out)
    if out.get("scaling"):
        lines += scaling_section(out, reference, yardsticks)
    if out.get("cnn"):
        lines += cnn_section(out)
    return "\n".join(lines) + "\n"


def header(out):
    m = out["machine"]
    start, end = m["load_average_at_start"], m.get("load_average_at_end", ["?"])
    lines = [f"- Machine: {m['cpu']}, {m['cores']} cores; {m['os']}"]
    if m.get("gpu"):
        lines.append(f"- GPU: {m['gpu']}")
    lines += [
        f"- Python {m['python']}; {library_versions(out)}",
        f"- Run {m['date']}, {out['total_wall_s'] / 60:.1f} minutes; 1-minute load average "
        f"{start[0]:.2f} at the start, {end[0]:.2f} at the end"
        + (" (a --quick smoke run: too few repetitions to trust)" if out["settings"]["quick"] else ""),
        "",
    ]
    return lines


def library_versions(out):
    found = {}
    rows = list(out.get("mlp", {}).values()) + list(out.get("cnn", {}).values())
    rows += [row for cell in out.get("scaling", []) for row in cell.values() if isinstance(row, dict)]
    for row in rows:
        for name, version in row.get("versions", {}).items():
            if "backend" not in name:
                found.setdefault(name, version)
    return ", ".join(f"{name} {version}" for name, version in found.items())


def problem(row):
    return f"{row['status']}: {row['reason']}"


def accuracy_text(row):
    return f"{row['accuracy_mean']:.4f} ± {row['accuracy_sd']:.4f} (n={row['runs']})"


def ratio_text(row, key):
    return f"{row[key]:.2f}x" if key in row else "–"


def targets_section(targets, reference):
    """One line per target: the ratio measured in this run, the target, met or not."""
    verdict = {True: "**met**", False: "**not met**"}
    lines = [f"## Targets: {reference}'s time ÷ the other's, medians of this run", ""]
    for yardstick, mlp in targets.get("mlp", {}).items():
        name = FRAMEWORK_NOTES.get(yardstick, yardstick)
        epoch, predict = mlp["epoch"], mlp["predict"]
        lines += [
            f"- epoch against {yardstick} ({name}): {epoch['ratio']:.2f}x "
            f"(target ≤ {epoch['target']}x): {verdict[epoch['met']]}",
            f"- predict on 10k against the forward pass of {yardstick}: {predict['ratio']:.2f}x "
            f"(target ≤ {predict['target']}x): {verdict[predict['met']]}",
        ]
    if "scaling" in targets:
        t = targets["scaling"]
        lines.append(
            f"- scaling against {t['rival']} at hidden width {t['min_width']} and up, where the matrix products "
            f"dominate: at most {t['ratio']:.2f}x, median {t['median_ratio']:.2f}x, "
            f"{t['cells_met']} of {t['cells']} cells within the target "
            f"(target ≤ {t['target']}x in every cell): {verdict[t['met']]}")
    if "cnn" in targets:
        t = targets["cnn"]
        lines.append(f"- CNN epoch against {t['rival']}: {t['ratio']:.2f}x "
                     f"(target ≤ {t['target']}x, no slower): {verdict[t['met']]}")
    return lines + [""]


def mlp_section(out):
    s = out["settings"]["mlp"]
    lines = [
        f"## The tutorial MLP: 784-{s['hidden']}(sigmoid)-10(softmax), SGD lr {s['lr']}, "
        f"batch {s['batch_size']}, {s['epochs']} epochs, {s['reps']} seeds",
        "",
        f"| framework | epoch s, median of epochs 2-{s['epochs']} | min-max | epoch 1 s | predict 10k ms "
        "| peak RSS MiB (before training) | test accuracy, mean ± sd | epoch ÷ tinynet | predict ÷ tinynet |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for peer, row in out["mlp"].items():
        name = FRAMEWORK_NOTES.get(peer, peer)
        if row["status"] != "ok":
            lines.append(f"| {name} | {problem(row)} | | | | | | | |")
            continue
        lines.append(
            f"| {name} | {row['epoch_median_s']:.3f} | {row['epoch_min_s']:.3f}-{row['epoch_max_s']:.3f} "
            f"| {row['first_epoch_median_s']:.3f} | {row['predict_median_s'] * 1e3:.1f} "
            f"| {row['peak_rss_mib']:.0f} ({row['rss_before_train_mib']:.0f}) | {accuracy_text(row)} "
            f"| {ratio_text(row, 'epoch_vs_tinynet')} | {ratio_text(row, 'predict_vs_tinynet')} |")
    lines.append("")
    outside = [f"{FRAMEWORK_NOTES.get(peer, peer)} {row['fit_outside_epochs_median_s'] * 1e3:.0f} ms"
               for peer, row in out["mlp"].items()
               if row["status"] == "ok" and row.get("fit_outside_epochs_median_s") is not None]
    if outside:
        lines += ["Time each fit() call spends outside its epochs (checking and converting the data, "
                  "once per call, not in the epoch times): " + "; ".join(outside) + ".", ""]
    scored = [f"{FRAMEWORK_NOTES.get(peer, peer)} " + ", ".join(
                  f"{run['loss']:.4f} / {run['accuracy']:.4f}" for run in row["last_epoch_train"])
              for peer, row in out["mlp"].items() if row["status"] == "ok" and row.get("last_epoch_train")]
    if scored:
        lines += ["Mean training loss / accuracy of the last epoch, one pair per seed, as each computes them "
                  "batch by batch (equal pairs: the same maths): " + "; ".join(scored) + ".", ""]
    return lines


def scaling_section(out, reference, yardsticks):
    cells = out["scaling"]
    s = out["settings"]["scaling"]
    peers = [key for key in cells[0] if key not in ("hidden", "batch_size")]
    versus = [p for p in yardsticks if p in peers] + [p for p in peers if p != reference and p not in yardsticks]
    lines = [
        f"## Scaling: seconds per epoch (epoch {s['epochs']} of {s['epochs']}, "
        + (f"median of {s['reps']} runs, seeds 0-{s['reps'] - 1})" if s["reps"] > 1 else "one run, seed 0)"), "",
        "| hidden | batch | " + " | ".join(peers) + " | " + " | ".join(f"{reference} ÷ {p}" for p in versus) + " |",
        "| ---: | ---: | " + " | ".join("---:" for _ in peers + versus) + " |",
    ]
    for cell in cells:
        times = {p: cell[p]["epoch_median_s"] for p in peers if cell[p]["status"] == "ok"}
        text = [f"{times[p]:.3f}" if p in times else cell[p]["status"] for p in peers]
        ours = times.get(reference)
        ratios = [f"{ours / times[p]:.2f}x" if ours and p in times else "–" for p in versus]
        lines.append(f"| {cell['hidden']} | {cell['batch_size']} | " + " | ".join(text + ratios) + " |")
    lines.append("")
    return lines


def cnn_section(out):
    s = out["settings"]["cnn"]
    lines = [
        f"## The book's CNN: Conv2D(32, 5x5, relu), MaxPool 2, Conv2D(64, 5x5, relu), MaxPool 2, "
        f"Flatten, Dense(10, softmax); SGD lr {s['lr']}, batch {s['batch_size']}",
        "",
        f"Each epoch is over the first {s['train_limit']:,} training images, {s['epochs']} epochs, "
        f"{s['reps']} runs in turns (seeds 0-{s['reps'] - 1}); accuracy is on the full test set after "
        "those epochs, the mean over the runs.",
        "",
        f"| framework | epoch s, median of epochs 2-{s['epochs']} | epoch 1 s | predict 10k s "
        "| peak RSS MiB (before training) | test accuracy | epoch ÷ tinynet |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for peer, row in out["cnn"].items():
        name = FRAMEWORK_NOTES.get(peer, peer)
        if row["status"] != "ok":
            lines.append(f"| {name} | {problem(row)} | | | | | |")
            continue
        lines.append(
            f"| {name} | {row['epoch_median_s']:.2f} | {row['first_epoch_median_s']:.2f} "
            f"| {row['predict_median_s']:.2f} | {row['peak_rss_mib']:.0f} ({row['rss_before_train_mib']:.0f}) "
            f"| {row['accuracy_mean']:.4f} | {ratio_text(row, 'epoch_vs_tinynet')} |")
    lines.append("")
    return lines


def scaling_figure(cells, path, machine_facts):
    """Seconds per epoch against hidden width, one panel per batch size, log-log."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    batch_sizes = sorted({c["batch_size"] for c in cells})
    peers = [key for key in cells[0] if key not in ("hidden", "batch_size")]
    fig, axes = plt.subplots(1, len(batch_sizes), figsize=(4.2 * len(batch_sizes), 3.8),
                             sharey=True, squeeze=False)
    for ax, batch_size in zip(axes[0], batch_sizes):
        for peer in peers:
            points = [(c["hidden"], c[peer]["epoch_median_s"]) for c in cells
                      if c["batch_size"] == batch_size and c[peer]["status"] == "ok"]
            if points:
                ax.plot(*zip(*points), marker="o", label=FRAMEWORK_NOTES.get(peer, peer))
        ax.set_xscale("log", base=2)
        widths = sorted({c["hidden"] for c in cells})
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.minorticks_off()
        ax.set_yscale("log")
        ax.set_title(f"batch {batch_size}")
        ax.set_xlabel("hidden width")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("seconds per epoch (60,000 images)")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(f"784-H(sigmoid)-10(softmax), SGD; {machine_facts['cpu']}, {machine_facts['cores']} cores",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
