"""Argument checks shared by configs, data pipelines, samplers, weighting strategies
and task weights, so that every refusal is worded the same way (pure Python).

Example:

>>> check_number(2, "weighting 'dwa': temperature", above=0)
2.0
>>> check_number("2", "temperature", above=0)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
keras_mtl.errors.ConfigError: temperature must be a number > 0, got '2' (a string: ...
>>> check_number(-1, "weighting 'dwa': temperature", above=0)
Traceback (most recent call last):
...
keras_mtl.errors.ConfigError: weighting 'dwa': temperature must be > 0, got -1.
>>> check_known_tasks({"intnet": 1.0}, ["intent"], "`loss_weights` names")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
keras_mtl.errors.ConfigError: `loss_weights` names unknown task(s) ['intnet']; the ...
"""

import math
import numbers

from keras_mtl.errors import ConfigError


def _bounds(at_least, above, at_most, below):
    """The allowed range in words: "non-negative", "> 0", "in [0, 1)", or ""."""
    if at_least == 0 and above is at_most is below is None:
        return "non-negative"
    low = f">= {at_least}" if at_least is not None else f"> {above}" if above is not None else ""
    high = f"<= {at_most}" if at_most is not None else f"< {below}" if below is not None else ""
    if low and high:
        left, first = ("[", at_least) if at_least is not None else ("(", above)
        right, last = ("]", at_most) if at_most is not None else (")", below)
        return f"in {left}{first}, {last}{right}"
    return low or high


def check_number(value, what, *, at_least=None, above=None, at_most=None, below=None,
                 integer=False, error=ConfigError):
    """`value` as a float (an int when `integer`), or `error` naming `what`, the
    allowed range and the value. NaN, infinity and booleans are never numbers here.
    """
    bounds = _bounds(at_least, above, at_most, below)
    kind = "integer" if integer else "number"
    if bounds == "non-negative":
        expected = f"{what} must be a non-negative {kind}"
    else:
        article = "an" if integer else "a"
        expected = f"{what} must be {article} {kind}" + (f" {bounds}" if bounds else "")
    if isinstance(value, str):
        raise error(f"{expected}, got {value!r} (a string: write it without quotes).")
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value) or (integer and not float(value).is_integer()):
        raise error(f"{expected}, got {value!r}.")
    if ((at_least is not None and value < at_least) or (above is not None and value <= above)
            or (at_most is not None and value > at_most)
            or (below is not None and value >= below)):
        raise error(f"{what} must be {bounds}, got {value!r}.")
    return int(value) if integer else float(value)


def check_known_tasks(names, task_names, what, error=ConfigError):
    """Raises `error` if `names` (an iterable, e.g. a dict keyed by task) holds a
    name that is not one of `task_names`; `what` starts the message
    (e.g. "`loss` names", "Dataset 'x' has labels for")."""
    unknown = sorted(set(() if names is None else names) - set(task_names), key=repr)
    if unknown:
        raise error(
            f"{what} unknown task(s) {unknown}; the model's tasks are {list(task_names)}."
        )
