"""Data files that ship inside a pinned Python distribution (an sdist or a wheel),
fetched once with `pip download` into a cache folder instead of being vendored.

Example:

>>> path = distribution_path(
...     "vaderSentiment-3.3.2.tar.gz", "vaderSentiment==3.3.2",
...     pip_options=("--no-binary", ":all:"),
...     env_var="KERAS_MTL_VADER_SDIST", name="VADER", kind="sdist",
... )
"""

import os
import subprocess
import sys


def cache_dir():
    """`$KERAS_MTL_CACHE`, default `~/.cache/keras_mtl`."""
    return os.environ.get("KERAS_MTL_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "keras_mtl"
    )


def distribution_path(filename, requirement, pip_options, env_var, name, kind, download=True):
    """Path of the distribution file `filename`: `$env_var` if set, else the cache
    folder, where `pip download <pip_options> --no-deps <requirement>` puts it if
    absent (and `download` is true).

    Args:
        filename: the file pip saves, e.g. `"vaderSentiment-3.3.2.tar.gz"`.
        requirement: a pinned requirement, e.g. `"vaderSentiment==3.3.2"`.
        pip_options: options that make pip save exactly `filename`
            (`("--no-binary", ":all:")` for an sdist, a pinned platform for a wheel).
        env_var: environment variable that may name the file instead.
        name, kind: for messages (`"VADER"`, `"sdist"`).
        download: if false, a missing file is an error that says what to run.
    """
    given = os.environ.get(env_var)
    if given:
        if not os.path.exists(given):
            raise FileNotFoundError(f"${env_var} points to a missing file: {given}")
        return given
    path = os.path.join(cache_dir(), filename)
    if os.path.exists(path):
        return path
    options = [*pip_options, "--no-deps"]
    if not download:
        raise FileNotFoundError(
            f"No {name} {kind} at {path}; run: pip download {' '.join(options)} "
            f"{requirement} -d {cache_dir()}"
        )
    os.makedirs(cache_dir(), exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", *options, "--quiet", requirement,
        "-d", cache_dir(),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not os.path.exists(path):
        raise RuntimeError(
            f"Could not fetch the {name} data ({' '.join(command)}):\n{result.stderr[-2000:]}\n"
            f"Without network, download {filename} elsewhere and set ${env_var} to its path."
        )
    return path
