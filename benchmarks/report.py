"""Turn compare.py's results into the markdown tables and the scaling figure."""

FRAMEWORK_NOTES = {
    "tinynet": "tinynet, NumPy backend",
    "keras-tf": "Keras 3 on TensorFlow",
    "keras-jax": "Keras 3 on JAX",
    "torch": "PyTorch eager",
    "sklearn": "scikit-learn MLPClassifier",
    "numpy-plain": "NumPy loop, plain",
    "numpy-tuned": "NumPy loop, hand-tuned",
    "tinynet-cupy": "tinynet, CuPy backend",
    "torch-cuda": "PyTorch eager, CUDA",
    "keras-jax-gpu": "Keras 3 on JAX, GPU",
}


def markdown(out, reference, yardstick):
    lines = ["# tinynet against other frameworks", ""]
    lines += header(out)
    if out.get("mlp"):
        lines += mlp_section(out, reference, yardstick)
    if out.get("scaling"):
        lines += scaling_section(out, reference, yardstick)
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


def mlp_section(out, reference, yardstick):
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
    targets = out.get("targets")
    if targets:
        verdict = {True: "**met**", False: "**not met**"}
        lines += [
            f"Targets ({reference} against {yardstick}, medians of this run):",
            "",
            f"- epoch: {targets['epoch_ratio']:.2f}x the hand-tuned loop "
            f"(target ≤ {targets['epoch_target']}x): {verdict[targets['epoch_met']]}",
            f"- predict on 10k: {targets['predict_ratio']:.2f}x the hand-tuned loop's forward pass "
            f"(target ≤ {targets['predict_target']}x): {verdict[targets['predict_met']]}",
            "",
        ]
    return lines


def scaling_section(out, reference, yardstick):
    cells = out["scaling"]
    s = out["settings"]["scaling"]
    peers = [key for key in cells[0] if key not in ("hidden", "batch_size")]
    others = [p for p in peers if p not in (reference, yardstick)]
    lines = [
        f"## Scaling: seconds per epoch (epoch {s['epochs']} of {s['epochs']}, one seed)", "",
        "| hidden | batch | " + " | ".join(peers) + f" | {reference} ÷ {yardstick} "
        f"| {reference} ÷ fastest of {', '.join(others)} |",
        "| ---: | ---: | " + " | ".join("---:" for _ in peers) + " | ---: | ---: |",
    ]
    for cell in cells:
        times = {p: cell[p]["epoch_median_s"] for p in peers if cell[p]["status"] == "ok"}
        text = [f"{times[p]:.3f}" if p in times else cell[p]["status"] for p in peers]
        ours = times.get(reference)
        vs_yard = f"{ours / times[yardstick]:.2f}x" if ours and yardstick in times else "–"
        rivals = [times[p] for p in others if p in times]
        vs_best = f"{ours / min(rivals):.2f}x" if ours and rivals else "–"
        lines.append(f"| {cell['hidden']} | {cell['batch_size']} | " + " | ".join(text)
                     + f" | {vs_yard} | {vs_best} |")
    lines.append("")
    return lines


def cnn_section(out):
    s = out["settings"]["cnn"]
    lines = [
        f"## The book's CNN: Conv2D(32, 5x5, relu), MaxPool 2, Conv2D(64, 5x5, relu), MaxPool 2, "
        f"Flatten, Dense(10, softmax); SGD lr {s['lr']}, batch {s['batch_size']}",
        "",
        f"Each epoch is over the first {s['train_limit']:,} training images, {s['epochs']} epochs; "
        "accuracy is on the full test set after those epochs.",
        "",
        f"| framework | epoch s (epochs 2-{s['epochs']}) | epoch 1 s | predict 10k s "
        "| peak RSS MiB (before training) | test accuracy |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for peer, row in out["cnn"].items():
        name = FRAMEWORK_NOTES.get(peer, peer)
        if row["status"] != "ok":
            lines.append(f"| {name} | {problem(row)} | | | | |")
            continue
        lines.append(
            f"| {name} | {row['epoch_median_s']:.2f} | {row['first_epoch_median_s']:.2f} "
            f"| {row['predict_median_s']:.2f} | {row['peak_rss_mib']:.0f} ({row['rss_before_train_mib']:.0f}) "
            f"| {row['accuracy_mean']:.4f} |")
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
