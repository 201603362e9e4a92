"""Training curves of a multi-task run: task losses, task weights, gradient cosines,
layer attention."""

import csv
import math
import re

import numpy as np


def read_history(path):
    """A `history.csv` (Keras `CSVLogger`) as `{column: [values per epoch]}`.

    CSVLogger writes `NA` in the `val_` columns it adds for a run without
    validation data (and for epochs a key was missing); those read as NaN, and
    columns with no value at all are left out."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} holds no epochs.")
    history = {key: [float("nan") if row[key] in ("NA", "") else float(row[key])
                     for row in rows] for key in rows[0]}
    return {key: values for key, values in history.items()
            if not all(math.isnan(v) for v in values)}


def new_figure(rows=1, columns=1, **options):
    """`(figure, axes)`: a matplotlib `Figure` drawn off-screen without pyplot, so
    plotting neither switches the process's matplotlib backend nor leaves figures
    open; `options` go to `Figure.subplots` (`figsize` to the figure)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=options.pop("figsize", None))
    return figure, figure.subplots(rows, columns, **options)


def plot_training(history, path, title=None):
    """Draws task losses, task weights and gradient cosines per epoch into a PNG.

    Args:
        history: `{column: values}` (e.g. `History.history`) or a `history.csv` path.
        path: output PNG path.

    Returns:
        the list of panels drawn (`"losses"`, `"weights"`, `"gradients"`).
    """
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
    figure, axes = new_figure(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
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
    return list(panels)


def layer_mix_columns(history):
    """`{task: [its column of layer output 0, 1, …]}` from a history's
    `<task>_layer_mix_<k>` columns (written by `LayerAttentionLog`)."""
    columns = {}
    for key in history:
        match = re.fullmatch(r"(.+)_layer_mix_(\d+)", key)
        if match:
            columns.setdefault(match[1], {})[int(match[2])] = key
    if not columns:
        raise ValueError("The history has no '<task>_layer_mix_<k>' columns "
                         "(a model trained with sharing='attention' and LayerAttentionLog).")
    return {task: [keys[k] for k in sorted(keys)] for task, keys in columns.items()}


def plot_layer_attention(history, path, title=None):
    """Draws each task's layer-attention weights per epoch into a PNG.

    One panel per task, one line per layer output (`<task>_layer_mix_<k>`
    columns, written by `LayerAttentionLog`): where the task reads the encoder,
    and how that moved while training. `history` is a history (dict or CSV
    path) or a list of them (several seeds): then each run is drawn faint and
    their mean per epoch on top.

    Returns:
        the tasks drawn.
    """
    from matplotlib.ticker import MaxNLocator

    histories = history if isinstance(history, list) else [history]
    histories = [read_history(h) if isinstance(h, str) else h for h in histories]
    columns = layer_mix_columns(histories[0])
    figure, axes = new_figure(1, len(columns), figsize=(4.2 * len(columns), 3.4),
                                squeeze=False, sharey=True)
    for axis, (task, keys) in zip(axes[0], columns.items()):
        for k, key in enumerate(keys):
            curves = [np.asarray(h[key], float) for h in histories]
            colour = f"C{k % 10}"
            if len(curves) > 1:
                for curve in curves:
                    axis.plot(range(1, len(curve) + 1), curve, color=colour, alpha=0.25)
            length = min(len(c) for c in curves)
            axis.plot(range(1, length + 1), np.mean([c[:length] for c in curves], axis=0),
                      color=colour, marker="o", markersize=3 if len(curves) > 1 else 6,
                      label="embeddings" if k == 0 else f"layer {k}")
        axis.set_title(task)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("attention weight")
    axes[0][-1].legend(fontsize=7)
    figure.suptitle(title or "layer attention per task")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return list(columns)
