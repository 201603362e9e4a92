"""Training curves of a multi-task run: task losses, task weights, gradient cosines."""

import csv


def read_history(path):
    """A `history.csv` (Keras `CSVLogger`) as `{column: [values per epoch]}`."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} holds no epochs.")
    return {key: [float(row[key]) for row in rows] for key in rows[0]}


def plot_training(history, path, title=None):
    """Draws task losses, task weights and gradient cosines per epoch into a PNG.

    Args:
        history: `{column: values}` (e.g. `History.history`) or a `history.csv` path.
        path: output PNG path.

    Returns:
        the list of panels drawn (`"losses"`, `"weights"`, `"gradients"`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if isinstance(history, str):
        history = read_history(history)
    panels = {
        "losses": sorted(
            k for k in history if k.endswith("_loss") and k not in ("loss", "val_loss")
        ),
        "weights": sorted(k for k in history if k.endswith("_weight")),
        "gradients": sorted(k for k in history if k.startswith(("grad_cos_", "grad_norm_"))),
    }
    panels = {name: keys for name, keys in panels.items() if keys}
    if not panels:
        raise ValueError("The history has no task losses, weights or gradient columns.")
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for axis, (name, keys) in zip(axes[0], panels.items()):
        for key in keys:
            values = history[key]
            axis.plot(range(1, len(values) + 1), values, marker="o", label=key)
        axis.set_title({"losses": "task losses", "weights": "task weights",
                        "gradients": "task gradients (shared encoder)"}[name])
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
        if name == "losses":
            axis.set_yscale("log")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return list(panels)
