"""Every `>>>` example in the package's docstrings runs and prints what it shows,
on the backend under test. Examples that need the reader's own data or trained
model are written as plain ```python blocks instead, which doctest does not run.

The examples run in their own process: some set process-wide state on purpose
(the global dtype policy, a registered task type), which the rest of the suite
must not inherit.
"""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_docstring_examples_run():
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--doctest-modules", "keras_mtl", "-q",
         "-p", "no:cacheprovider", "-p", "no:xdist", "-W", "ignore::UserWarning"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-6000:]
    # The run found the examples (a collection problem would pass with none).
    summary = done.stdout.strip().splitlines()[-1]
    assert int(summary.split(" passed")[0].split()[-1]) >= 60, summary
