"""The raw records of a `keras-mtl compare` folder, kept beside its report.

A comparison's report is built from two small files per finished run,
`metrics.json` (test metrics at the best dev epoch, steps, fit time) and
`test_predictions.json` (what the significance test resamples); its models are
hundreds of megabytes. `keep` copies those files (the predictions gzipped), each
run's `config.json` and `history.csv`, and the folder's `compare_config.json` into a
records folder that is small enough to commit; `restore` copies them back into a
comparison folder, where `keras-mtl compare` with the same arguments reuses the
finished runs (it trains only those without `metrics.json`) and rebuilds the
report. A study longer than one sitting goes on from its records that way, and a
reader can rebuild any committed report without training.

    python benchmarks/compare_records.py keep saved_models/compare_x benchmarks/results/compare_x_runs
    python benchmarks/compare_records.py restore benchmarks/results/compare_x_runs saved_models/compare_x

Neither direction overwrites a file that differs from the one it would write: it
stops and names it.
"""

import argparse
import gzip
import os
import sys

COMPARE_CONFIG = "compare_config.json"
RUN_FILES = ("metrics.json", "config.json", "history.csv")
PREDICTIONS = "test_predictions.json"


def _finished_runs(folder):
    """Run folders (relative paths) under `folder` that hold `metrics.json`."""
    runs = []
    for root, _, files in os.walk(folder):
        if "metrics.json" in files:
            runs.append(os.path.relpath(root, folder))
    return sorted(runs)


def _write(path, data):
    """Writes `data` (bytes) at `path` unless the same bytes are there; refuses to
    overwrite different ones. True when it wrote."""
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return False
        sys.exit(f"{path} exists and differs from what would be written there; nothing "
                 "was overwritten (were these records of another comparison?).")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.partial"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return True


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _copy(source, target, restoring):
    """Copies the finished runs' records from `source` to `target`: a comparison
    folder to a records folder (predictions gzipped), or back (`restoring`)."""
    if not os.path.exists(os.path.join(source, COMPARE_CONFIG)):
        sys.exit(f"{source} has no {COMPARE_CONFIG}: not a "
                 + ("records folder of `keep`." if restoring else "`keras-mtl compare` folder."))
    _write(os.path.join(target, COMPARE_CONFIG), _read(os.path.join(source, COMPARE_CONFIG)))
    runs = _finished_runs(source)
    for run in runs:
        run_source, run_target = os.path.join(source, run), os.path.join(target, run)
        if restoring and os.path.exists(run_target) and not os.path.exists(
                os.path.join(run_target, "metrics.json")):
            sys.exit(f"{run_target} holds an unfinished run of its own; delete it to restore "
                     "the finished one from the records.")
        for name in RUN_FILES:
            if os.path.exists(os.path.join(run_source, name)):
                _write(os.path.join(run_target, name), _read(os.path.join(run_source, name)))
        if restoring:
            data = gzip.decompress(_read(os.path.join(run_source, PREDICTIONS + ".gz")))
            _write(os.path.join(run_target, PREDICTIONS), data)
            continue
        predictions = os.path.join(run_source, PREDICTIONS)
        if not os.path.exists(predictions):
            sys.exit(f"{predictions} is missing: that run's report cannot be rebuilt.")
        # mtime=0: the same predictions give the same bytes, so a second keep is a no-op.
        _write(os.path.join(run_target, PREDICTIONS + ".gz"),
               gzip.compress(_read(predictions), mtime=0))
    return len(runs)


def keep(comparison, records):
    """Copies the finished runs' records of `comparison` into `records`."""
    count = _copy(comparison, records, restoring=False)
    print(f"Kept {count} finished run(s) of {comparison} in {records}.")


def restore(records, comparison):
    """Copies `records` back into the comparison folder `comparison`."""
    count = _copy(records, comparison, restoring=True)
    print(f"Restored {count} finished run(s) into {comparison}.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    keep_parser = sub.add_parser("keep", help="comparison folder -> records folder")
    keep_parser.add_argument("comparison")
    keep_parser.add_argument("records")
    restore_parser = sub.add_parser("restore", help="records folder -> comparison folder")
    restore_parser.add_argument("records")
    restore_parser.add_argument("comparison")
    args = parser.parse_args(argv)
    if args.command == "keep":
        keep(args.comparison, args.records)
    else:
        restore(args.records, args.comparison)


if __name__ == "__main__":
    main()
