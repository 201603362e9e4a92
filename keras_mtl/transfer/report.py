"""What `keras-mtl affinity` writes: affinity.json, heat maps, the time course and
a Markdown report with the recommended groupings."""

import math
import os

import numpy as np

from keras_mtl.outputs import write_json
from keras_mtl.transfer.grouping import best_groupings, json_matrix


def affinity_report(task_names, measurements, tag, cosine, *, every, lookahead,
                    affinity_seconds, fit_seconds, max_groups=None, batch_size=None):
    """The content of affinity.json: the mean matrices, their time course, the
    groupings for every model budget (from the TAG matrix) and the cost."""
    names = list(task_names)
    report = {
        "tasks": names,
        "every": every,
        "lookahead": lookahead,
        "batch_size": batch_size,  # examples per measurement batch; None: the whole batch
        "measurements": len(measurements),
        "tag": json_matrix(tag),
        "cosine": json_matrix(cosine),
        "groupings": {},
        "cost": {
            "fit_seconds": round(fit_seconds, 1),
            "affinity_seconds": round(affinity_seconds, 1),
            # Plain training would have taken the fit time less the measurements.
            "ratio": round(fit_seconds / max(fit_seconds - affinity_seconds, 1e-9), 3),
        },
        "time_course": measurements,
    }
    off_diagonal = ~np.eye(len(names), dtype=bool)
    if np.isfinite(np.asarray(tag, dtype=float)[off_diagonal]).all():
        for kind, matrix in (("tag", tag), ("cosine", cosine)):
            report["groupings"][kind] = best_groupings(matrix, names, max_groups)
    return report


def write_affinity(folder, report, title=None):
    """Writes affinity.json, affinity.md and (with matplotlib) affinity.png and
    affinity_time.png into `folder`; returns the names written."""
    written = ["affinity.json", "affinity.md"]
    write_json(os.path.join(folder, "affinity.json"), report)
    with open(os.path.join(folder, "affinity.md"), "w", encoding="utf-8") as f:
        f.write(format_affinity(report, title))
    try:
        plot_affinity(report, os.path.join(folder, "affinity.png"), title)
        plot_affinity_time(report, os.path.join(folder, "affinity_time.png"), title)
        written += ["affinity.png", "affinity_time.png"]
    except ImportError:
        pass  # matplotlib is optional (the `plot` extra)
    return written


def format_affinity(report, title=None):
    """The Markdown report: both matrices, the groupings, the cost."""
    names = report["tasks"]
    cost = report["cost"]
    lines = [f"# Task affinity{': ' + title if title else ''}", ""]
    lines.append(
        f"{report['measurements']} measurements, every {report['every']} steps "
        f"({report['lookahead']} lookahead"
        + (f", {report['batch_size']} examples per batch" if report.get("batch_size") else "")
        + f"). Cost: {cost['affinity_seconds']} s of "
        f"{cost['fit_seconds']} s fitting, {cost['ratio']}× plain training.")
    lines.append("")
    for kind, heading, reading in (
        ("tag", "TAG lookahead affinity Zᵢ→ⱼ (row i: the task stepped on; column j: the "
         "task whose loss moved)", "> 0: a step on i lowers j's loss."),
        ("cosine", "Gradient cosine cos(gᵢ, gⱼ) on the shared encoder",
         "< 0: the tasks pull the shared weights apart."),
    ):
        lines += [f"## {heading}", "", reading, "",
                  "| i \\ j | " + " | ".join(names) + " |",
                  "| --- |" + " ---: |" * len(names)]
        for name, row in zip(names, report[kind]):
            lines.append(f"| {name} | " + " | ".join(_cell(v) for v in row) + " |")
        lines.append("")
    if report["groupings"]:
        lines += ["## Recommended groupings", "",
                  "Each task scores the mean affinity it receives from the others in its "
                  "group (0 alone); the best split for each number of models:", "",
                  "| models | from TAG | score | from cosine | score |",
                  "| ---: | --- | ---: | --- | ---: |"]
        for tag, cosine in zip(report["groupings"]["tag"], report["groupings"]["cosine"]):
            lines.append(f"| {tag['models']} | {_groups(tag['groups'])} | {tag['score']:.4f} "
                         f"| {_groups(cosine['groups'])} | {cosine['score']:.4f} |")
    else:
        lines.append("No grouping: some pair of tasks was never measured together.")
    return "\n".join(lines) + "\n"


def plot_affinity(report, path, title=None):
    """The TAG and cosine matrices side by side as heat maps."""
    from keras_mtl.plotting import new_figure

    names = report["tasks"]
    figure, axes = new_figure(1, 2, figsize=(4 + 1.6 * len(names), 0.9 * len(names) + 1.8))
    for axis, kind, label in ((axes[0], "tag", "TAG Zᵢ→ⱼ"), (axes[1], "cosine", "gradient cos")):
        matrix = np.array(report[kind], dtype=float)
        off = matrix[~np.eye(len(names), dtype=bool)]
        bound = float(np.nanmax(np.abs(off))) if np.isfinite(off).any() else 1.0
        image = axis.imshow(matrix, cmap="RdBu", vmin=-bound, vmax=bound)
        axis.set_xticks(range(len(names)), names, rotation=45, ha="right")
        axis.set_yticks(range(len(names)), names)
        axis.set_xlabel("j (loss that moved)" if kind == "tag" else "j")
        axis.set_ylabel("i (task stepped on)" if kind == "tag" else "i")
        for (i, j), value in np.ndenumerate(matrix):
            axis.text(j, i, _cell(value, 3), ha="center", va="center", fontsize=7)
        axis.set_title(label)
        figure.colorbar(image, ax=axis, shrink=0.8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def plot_affinity_time(report, path, title=None, window=10):
    """Zᵢ→ⱼ of every pair over the training steps (a running mean of `window`)."""
    from keras_mtl.plotting import new_figure

    names = report["tasks"]
    steps = [m["step"] for m in report["time_course"]]
    figure, axis = new_figure(figsize=(7.5, 4))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i == j:
                continue
            values = np.array([np.nan if m["tag"][i][j] is None else m["tag"][i][j]
                               for m in report["time_course"]], dtype=float)
            kernel = np.ones(min(window, max(len(values), 1)))
            valid = np.convolve(~np.isnan(values), kernel, "same")
            smooth = np.convolve(np.nan_to_num(values), kernel, "same") / np.maximum(valid, 1)
            axis.plot(steps, np.where(valid > 0, smooth, np.nan), label=f"{a} → {b}")
    axis.axhline(0, color="grey", lw=0.8)
    axis.set_xlabel("training step")
    axis.set_ylabel(f"Zᵢ→ⱼ (running mean of {window})")
    axis.legend(fontsize=6, ncol=2)
    axis.grid(alpha=0.3)
    axis.set_title(title or "TAG affinity over training")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _cell(value, digits=4):
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:+.{digits}f}"


def _groups(groups):
    return " · ".join("{" + ", ".join(group) + "}" for group in groups)
