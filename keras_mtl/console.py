"""What the `keras-mtl` command prints, and what it keeps quiet (pure Python).

TensorFlow, XLA and CUDA write log lines straight to the process's stderr (file
descriptor 2) when they load, before anything can configure them: `oneDNN custom
operations are on`, `Could not find cuda drivers`, `failed call to cuInit`. On a
machine without a GPU a new user reads these as failures. The command therefore

- sets `TF_CPP_MIN_LOG_LEVEL=3` (TensorFlow's C++ logs after start-up) unless
  `--verbose`;
- loads the heavy libraries inside `quiet_native_logs()`, which sends fd 2 to a
  temporary file and afterwards re-prints every line that is not one of those
  library log lines (a real error message still shows);
- prints Python warnings as one `warning: ...` line each, without source echo.

The library itself changes none of this: only the command, which owns the process.
"""

import contextlib
import logging
import os
import re
import sys
import tempfile
import warnings

QUIET, NORMAL, VERBOSE = 0, 1, 2

# absl/glog lines: `I0000 00:00:1796.1 6666 port.cc:153] ...`, and absl's banner.
_NATIVE_LOG = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written "
    r"to STDERR|[IWEF]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w./-]+:\d+\] .*)$"
)


def set_log_environment(verbosity):
    """Environment for the native libraries; call before importing any of them."""
    if verbosity < VERBOSE:
        # Forced, not defaulted: a TF_CPP_MIN_LOG_LEVEL=2 left in the environment
        # still lets `failed call to cuInit` through. --verbose shows everything.
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    else:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"


def is_native_log_line(line):
    """Whether `line` is a start-up log line of TensorFlow / XLA / absl.

    >>> is_native_log_line("E0000 00:00:1796.9 6824 cuda_platform.cc:52] failed call to cuInit")
    True
    >>> is_native_log_line("error: config not found")
    False
    """
    return bool(_NATIVE_LOG.match(line.rstrip("\n")))


@contextlib.contextmanager
def quiet_native_logs(enabled=True):
    """Keeps the native libraries' start-up log lines off stderr while the block runs.

    Everything else written to stderr in the block is printed after it, in order.
    """
    if not enabled:
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no usable fd 2 (embedded interpreters): nothing to filter
        yield
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(True) if not is_native_log_line(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=file or sys.stderr)


def configure_python_logs(verbosity):
    """Python-side warnings and loggers for the command's verbosity."""
    if verbosity >= VERBOSE:
        return
    warnings.showwarning = _show_warning
    if verbosity == QUIET:
        warnings.filterwarnings("ignore")
    for name in ("tensorflow", "absl", "jax", "jax._src.xla_bridge", "tf2onnx"):
        logging.getLogger(name).setLevel(logging.ERROR)


class Console:
    """`say` (progress; silent with --quiet), `result` (always), `debug` (--verbose)."""

    def __init__(self, verbosity=NORMAL, stream=None):
        self.verbosity = verbosity
        self.stream = stream

    def say(self, *parts):
        if self.verbosity >= NORMAL:
            print(*parts, file=self.stream or sys.stdout, flush=True)

    def debug(self, *parts):
        if self.verbosity >= VERBOSE:
            print(*parts, file=self.stream or sys.stdout, flush=True)

    @property
    def keras_verbose(self):
        """`fit`'s `verbose`: a progress bar on a terminal, one line per epoch in a
        log file, nothing with --quiet."""
        if self.verbosity == QUIET:
            return 0
        return 1 if sys.stdout.isatty() else 2


__all__ = [
    "Console", "NORMAL", "QUIET", "VERBOSE", "configure_python_logs", "is_native_log_line",
    "quiet_native_logs", "set_log_environment",
]
