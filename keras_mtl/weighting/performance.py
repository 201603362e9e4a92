"""Performance-driven weighting: attention-style weights from validation metrics."""

from keras_mtl.checks import check_number
from keras_mtl.errors import ConfigError
from keras_mtl.weighting.base import (
    WeightingStrategy,
    all_finite,
    check_known_tasks,
    softmax_weights,
    task_mapping,
)

_LOWER_IS_BETTER = ("loss", "mae", "mse", "rmse", "error")


class PerformanceWeighting(WeightingStrategy):
    """Gives more weight to tasks whose validation metric lags.

    At each epoch end, with mₖ the task's validation metric (sign-flipped for
    lower-is-better metrics such as losses and errors) and K tasks:

        lagₖ = max(0, refₖ − mₖ) / max(|refₖ|, ε)
        aₖ   = K · exp(lagₖ / T) / Σᵢ exp(lagᵢ / T)

    where refₖ is the task's `target` if given, else its best value so far. A task
    at its best (or past its target) has lag 0; one that regressed or falls short
    gets more weight next epoch.

    Args:
        metrics: dict task → log key (e.g. `{"slots": "val_slots_accuracy"}`);
            default: each task's first validation metric other than its loss.
        targets: optional dict task → target value of its metric.
        temperature: T; lags are relative (fractions), so small T (0.1)
            gives visible weight differences.

    Example:

    >>> p = PerformanceWeighting(targets={"a": 0.9, "b": 0.9}, temperature=0.1)
    >>> _ = p.reset(["a", "b"], {"a": 1.0, "b": 1.0})
    >>> w = p.on_epoch_end(0, {"val_a_accuracy": 0.9, "val_b_accuracy": 0.81}, None)
    >>> round(w["b"], 4)                  # lags 0 and 0.1: 2·e^1/(1+e^1)
    1.4621
    """

    name = "performance"
    needs_validation = True

    def __init__(self, metrics=None, targets=None, temperature=0.1):
        super().__init__()
        what = "weighting 'performance': "
        self.temperature = check_number(temperature, what + "temperature", above=0)
        self.metrics = task_mapping(metrics, what + "metrics", _log_key) or None
        self.targets = task_mapping(targets, what + "targets", check_number) or None
        self.best = {}

    def check_tasks(self, task_names):
        check_known_tasks(self.metrics, task_names, "Performance weighting metrics name")
        check_known_tasks(self.targets, task_names, "Performance weighting targets name")

    def reset(self, task_names, initial_weights):
        super().reset(task_names, initial_weights)
        self.best = {}
        return dict(initial_weights)

    def _metric_key(self, task, logs):
        if self.metrics and task in self.metrics:
            key = self.metrics[task]
            if key not in logs:
                raise ValueError(
                    f"Performance weighting: '{key}' is not in the logs; pass "
                    "validation_data to fit() (logs have "
                    f"{sorted(k for k in logs if k.startswith('val_'))})."
                )
            return key
        candidates = [
            k for k in logs if k.startswith(f"val_{task}_") and k != f"val_{task}_loss"
        ]
        if not candidates:
            raise ValueError(
                f"Performance weighting needs validation metrics for task '{task}' "
                "(e.g. 'val_{task}_accuracy'): pass validation_data to fit()."
            )
        return sorted(candidates)[0]

    def on_epoch_end(self, epoch, logs, weights):
        values = {}
        for task in self.task_names:
            key = self._metric_key(task, logs)
            sign = -1.0 if key.endswith(_LOWER_IS_BETTER) else 1.0
            values[task] = sign * float(logs[key])
        if not all_finite(values.values()):
            raise FloatingPointError(f"Non-finite validation metric: {values}.")
        lags = []
        for task in self.task_names:
            self.best[task] = max(self.best.get(task, values[task]), values[task])
            if self.targets and task in self.targets:
                key = self._metric_key(task, logs)
                sign = -1.0 if key.endswith(_LOWER_IS_BETTER) else 1.0
                ref = sign * float(self.targets[task])
            else:
                ref = self.best[task]
            lags.append(max(0.0, ref - values[task]) / max(abs(ref), 1e-12))
        return dict(zip(self.task_names, softmax_weights(lags, self.temperature, len(lags))))

    def get_state(self):
        return {"best": self.best}

    def set_state(self, state):
        self.best = {k: float(v) for k, v in state.get("best", {}).items()}

    def get_config(self):
        return {"metrics": self.metrics, "targets": self.targets, "temperature": self.temperature}


def _log_key(value, what):
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} must be a log key such as 'val_slots_accuracy', got {value!r}.")
    return value
