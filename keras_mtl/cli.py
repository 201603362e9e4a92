"""`keras-mtl`: train, evaluate and predict from the command line.

    keras-mtl train [CONFIG] [--output DIR] [--epochs N] [--backend B]
                    [--strategy mirrored|multi_worker|data_parallel] [--cpu-devices N]
    keras-mtl evaluate RUN [--split test]
    keras-mtl predict RUN TEXT [TEXT ...] [--pair TEXT_PAIR ...]
    keras-mtl export RUN --output saved_models/NAME/VERSION
    keras-mtl export RUN --format onnx|edge [--quantize int8] --output PATH
    keras-mtl predict SAVED_MODEL_DIR|EDGE_BUNDLE TEXT ...
    keras-mtl compare CONFIG [--seeds N] [--sharing hard partial attention hard+pcgrad ...]
                      [--gradient-methods none pcgrad famo]
                      [--budget epochs|steps|convergence] [--learning-rates LR ...]
                      [--max-epochs N] [--patience N] --output DIR
    keras-mtl compare CONFIG --pairs [--affinity AFFINITY_JSON] [--seeds N] ... --output DIR
    keras-mtl affinity CONFIG --output DIR [--every K] [--epochs N] [--max-groups G]
                       [--batch-size B]

With no CONFIG, `train` runs the embedded default (ATIS joint intent + slots on
the real MiniLM truncated to 2 layers). This is the only module that reads config
files. Keras is imported only after `--backend` has set `KERAS_BACKEND`.
"""

import argparse
import json
import linecache
import os
import sys
import warnings

from keras_mtl.console import NORMAL, QUIET, VERBOSE

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT_CONFIG = os.path.join(os.path.dirname(__file__), "configs", "atis_minilm2.yaml")


# The model's SHARING_MODES and gradient METHODS; spelled out because Keras is not
# imported yet (tests/cli_test.py checks that they agree).
SHARING_CHOICES = ("hard", "partial", "attention")
GRADIENT_CHOICES = ("pcgrad", "famo")


def _sharing_entry(value):
    """A `--sharing` entry: a mode, or `mode+method`."""
    mode, plus, method = value.partition("+")
    if mode not in SHARING_CHOICES or (plus and method not in GRADIENT_CHOICES):
        raise argparse.ArgumentTypeError(
            f"{value!r}: give a sharing mode ({', '.join(SHARING_CHOICES)}), optionally "
            f"with +{'|+'.join(GRADIENT_CHOICES)} (e.g. hard+pcgrad).")
    return value


def _parser():
    parser = argparse.ArgumentParser(
        prog="keras-mtl", description="Multi-task NLU on Keras 3 and KerasHub BERT."
    )
    parser.add_argument(
        "--backend", choices=BACKENDS, default=None,
        help="Keras backend (default: $KERAS_BACKEND, else tensorflow).",
    )
    parser.add_argument("--verbose", action="store_const", const=VERBOSE, dest="verbosity",
                        default=None, help="Show library logs and full warnings.")
    parser.add_argument("--quiet", action="store_const", const=QUIET, dest="verbosity",
                        help="Print results and errors only.")
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--backend", choices=BACKENDS, default=None, dest="sub_backend",
                        help="Keras backend (default: $KERAS_BACKEND, else tensorflow).")
    common.add_argument("--verbose", action="store_const", const=VERBOSE,
                        dest="sub_verbosity", default=None,
                        help="Show TensorFlow/XLA logs and full warnings.")
    common.add_argument("--quiet", action="store_const", const=QUIET, dest="sub_verbosity",
                        help="Print results and errors only.")

    train = commands.add_parser(
        "train", parents=[common], help="Train a multi-task model from a YAML config."
    )
    train.add_argument("config", nargs="?", default=None,
                       help="YAML config (default: the embedded ATIS MiniLM-2 job).")
    train.add_argument("--output", default=None, help="Output directory.")
    train.add_argument("--epochs", type=int, default=None, help="Override training.epochs.")
    train.add_argument("--strategy", default=None,
                       help="mirrored, multi_worker or data_parallel: overrides "
                       "training.strategy (see docs/distributed.md).")
    train.add_argument("--cpu-devices", type=int, default=None,
                       help="Split the CPU into N devices (try a strategy without GPUs).")

    evaluate = commands.add_parser(
        "evaluate", parents=[common], help="Evaluate a trained run on a split."
    )
    evaluate.add_argument("model", help="Run directory (or its model.keras).")
    evaluate.add_argument("--split", default="test")

    export = commands.add_parser(
        "export", parents=[common], help="Export a trained run for serving."
    )
    export.add_argument("model", help="Run directory (or its model.keras).")
    export.add_argument("--format", choices=["saved_model", "onnx", "edge"], default="saved_model",
                        help="edge: a folder with model.onnx, vocab.txt and bundle.json "
                        "for keras_mtl.edge.")
    export.add_argument("--quantize", choices=["int8"], default=None,
                        help="ONNX and edge only: dynamic int8 quantization of the weights.")
    export.add_argument("--output", required=True,
                        help="SavedModel version folder (e.g. saved_models/serving/atis/1) "
                        "or .onnx file.")

    compare = commands.add_parser(
        "compare", parents=[common],
        help="Multi-task vs one single-task model per task, over seeds (Δm); with --pairs, "
        "every pair of tasks against each task alone (the ground truth of an affinity).",
    )
    affinity = commands.add_parser(
        "affinity", parents=[common],
        help="Train while measuring how the tasks help each other (TAG affinity, gradient "
        "cosines) and recommend which tasks to train together.",
    )
    affinity.add_argument("config", help="YAML config of the multi-task model (>= 2 tasks).")
    affinity.add_argument("--output", required=True, help="Run folder.")
    affinity.add_argument("--every", type=int, default=10,
                          help="Measure every K optimizer steps (default 10).")
    affinity.add_argument("--epochs", type=int, default=None, help="Override training.epochs.")
    affinity.add_argument("--batch-size", type=int, default=None,
                          help="Examples of each drawn batch a measurement uses (default: the "
                          "whole batch; fewer: cheaper and noisier).")
    affinity.add_argument("--max-groups", type=int, default=None,
                          help="Most models a grouping may use (default: one per task).")

    compare.add_argument("config", help="YAML config of the multi-task model.")
    compare.add_argument("--seeds", type=int, default=3, help="Training seeds 0..N-1.")
    compare.add_argument("--sharing", nargs="+", type=_sharing_entry, default=None,
                         metavar="MODE[+METHOD]",
                         help="Sharing mode(s) of the multi-task model: hard, partial or "
                         "attention, each optionally with a gradient method (hard+pcgrad, "
                         "hard+famo; default: the config's).")
    compare.add_argument("--gradient-methods", nargs="+", choices=["none", *GRADIENT_CHOICES],
                         default=None,
                         help="Gradient method(s) of the multi-task model, crossed with "
                         "--sharing (none: the summed gradient; default: the config's).")
    compare.add_argument("--output", required=True, help="Folder for the runs and the report.")
    compare.add_argument("--epochs", type=int, default=None, help="Override training.epochs.")
    compare.add_argument(
        "--budget", choices=["epochs", "steps", "convergence"], default="epochs",
        help="epochs: every run trains training.epochs (default); steps: each single-task "
             "run takes the multi-task run's optimizer steps; convergence: up to "
             "--max-epochs, early stopping on the dev score.")
    compare.add_argument("--learning-rates", type=float, nargs="+", default=None,
                         metavar="LR", help="Learning-rate grid, chosen per variant on seed "
                         "0's dev score (default: training.learning_rate).")
    compare.add_argument("--max-epochs", type=int, default=None,
                         help="Epoch cap of --budget convergence (default 20).")
    compare.add_argument("--patience", type=int, default=None,
                         help="Stop after N epochs without a better dev score (default 3 "
                              "with --budget convergence, else no early stopping).")
    compare.add_argument("--pairs", action="store_true",
                         help="Train every pair of tasks, each task alone and all together; "
                              "report each task's gain from each other task (pairs.json).")
    compare.add_argument("--affinity", default=None, metavar="AFFINITY_JSON",
                         help="With --pairs: a `keras-mtl affinity` output of the same tasks; "
                              "its Spearman ρ with the measured gains is reported, and its "
                              "recommended groupings are trained and tested.")

    predict = commands.add_parser(
        "predict", parents=[common], help="Predict every task for texts (JSON)."
    )
    predict.add_argument("model", help="Run directory (or its model.keras), an edge bundle "
                         "folder or a SavedModel version folder.")
    predict.add_argument("texts", nargs="+", metavar="TEXT")
    predict.add_argument("--pair", nargs="+", default=None, metavar="TEXT_PAIR",
                         help="Second texts for text-pair tasks, one per TEXT ('' for none).")
    return parser


def read_config(path):
    """Parses a YAML config file; a `ConfigError` or `DataError` naming the file
    (and line) when it cannot be used."""
    import yaml

    from keras_mtl.config import ConfigError
    from keras_mtl.datasets.text_lines import text_lines

    if not os.path.exists(path):
        raise ConfigError(f"Config file not found: {path}")
    text = "".join(line for _, line in text_lines(path))  # names a non-UTF-8 line
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML: {problem}.") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path} must hold a mapping of sections, got {config!r}.")
    return config


def _set_backend(backend):
    if backend is None:
        return
    if "keras" in sys.modules:
        import keras

        if keras.config.backend() != backend:
            raise SystemExit(
                f"error: Keras is already loaded with the {keras.config.backend()} "
                f"backend; run with KERAS_BACKEND={backend} instead."
            )
    os.environ["KERAS_BACKEND"] = backend


def _json_ready(tasks, predictions, texts, pairs):
    """One JSON object per example: `{"text", ["text_pair"], task: ...}`, each task
    as its type writes it (`TaskType.to_json`); word-level tasks add `"words"`
    (one entry per word, `None` for words cut off by truncation)."""
    from keras_mtl.preprocessing.words import split_words

    rows = []
    for i, text in enumerate(texts):
        row = {"text": text}
        if pairs[i] is not None:
            row["text_pair"] = pairs[i]
        for spec in tasks:
            label = predictions[spec.name]["labels"][i]
            scores = predictions[spec.name]["scores"][i]
            if label is None:
                row[spec.name] = None  # a text-pair task on a single text
                continue
            row[spec.name] = spec.task_type.to_json(spec, label, scores)
            if spec.token_level:
                row[spec.name] = {"words": split_words(text), **row[spec.name]}
        rows.append(row)
    return rows


def _predict_any(path, texts, pairs):
    """`(tasks, predictions)` from a run folder / `.keras` file, an edge bundle or a
    SavedModel; an `ArtifactError` saying what `path` is when it is none of them."""
    from keras_mtl.artifacts import artifact_kind

    kind = artifact_kind(path)
    if kind == "edge":
        from keras_mtl.edge import EdgeModel

        edge = EdgeModel(path)
        return edge.tasks, edge.predict(texts, pairs)
    if kind == "saved_model":
        return _predict_saved_model(path, texts, pairs)
    from keras_mtl.training import load_run

    model, _ = load_run(path)
    return model.tasks, model.predict_text(texts, text_pairs=pairs)


def _predict_saved_model(path, texts, pairs):
    """Calls the SavedModel's raw-text signature in this process and decodes each
    task's outputs with its type (`SavedModelClient`)."""
    from keras_mtl.export.saved_model_client import SavedModelClient

    client = SavedModelClient(path)
    return client.tasks, client.predict(texts, pairs)


def main(argv=None):
    """Runs the command; returns its exit code (2: the input was refused)."""
    args = _parser().parse_args(argv)
    verbosity = args.sub_verbosity if getattr(args, "sub_verbosity", None) is not None \
        else args.verbosity if args.verbosity is not None else NORMAL
    _set_backend(getattr(args, "sub_backend", None) or args.backend)

    from keras_mtl.console import (
        Console, configure_python_logs, quiet_native_logs, set_log_environment,
    )

    set_log_environment(verbosity)
    console = Console(verbosity)
    try:
        with warnings.catch_warnings():  # the filters are the command's, not the caller's
            configure_python_logs(verbosity)
            with quiet_native_logs(verbosity < VERBOSE):
                import keras  # noqa: F401  (loads the backend, TensorFlow included, quietly)
                import keras_hub  # noqa: F401
            return _run(args, console)
    except KeyboardInterrupt:
        resume = " (run the same command again to resume)" if args.command in (
            "train", "compare", "affinity") else ""
        print(f"interrupted{resume}", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001  (sorted into expected and bugs below)
        message = _expected_failure(error)
        if message is None:
            raise  # a bug: keep its traceback
        print(f"error: {message}", file=sys.stderr)
        return 2


_OS_HINTS = {
    "EACCES": "check the permissions, or choose another path",
    "EROFS": "the file system is read-only: choose another path",
    "ENOSPC": "the disk is full: free some space and run the command again",
    "EISDIR": "give a file, not a folder",
    "ENOTDIR": "a part of the path is a file, not a folder",
    "EEXIST": "choose a new path, or delete what is there",
    "ENAMETOOLONG": "use a shorter path",
}


def _expected_failure(error):
    """The one-line message for a failure the user can fix, or `None` for a bug.

    Expected: keras_mtl's own exceptions (`keras_mtl.errors`), operating-system
    errors (permissions, full disk, a file where a folder should be), and a
    `ValueError`/`TypeError`/`ImportError` raised by a `raise` statement of
    keras_mtl itself (a dataset loader naming the package to install).
    """
    import errno

    from keras_mtl.errors import KerasMTLError

    if isinstance(error, KerasMTLError):
        return str(error)
    if isinstance(error, OSError) and error.errno is not None:
        code = errno.errorcode.get(error.errno, "")
        where = f": {error.filename}" if error.filename else ""
        hint = _OS_HINTS.get(code)
        return f"{error.strerror or error}{where}" + (f" ({hint})." if hint else ".")
    if isinstance(error, (ValueError, TypeError, ImportError)) and _raised_by_keras_mtl(error):
        return str(error)  # ImportError: a loader naming the package to install
    return None


def _raised_by_keras_mtl(error):
    """Whether `error` comes from a `raise` statement in this package (a refusal
    with a message), not from a failing call inside it."""
    package = os.path.dirname(os.path.abspath(__file__))
    traceback = error.__traceback__
    if traceback is None:
        return False
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    filename = os.path.abspath(traceback.tb_frame.f_code.co_filename)
    if not filename.startswith(package + os.sep):
        return False
    line = linecache.getline(filename, traceback.tb_lineno).strip()
    return line.startswith("raise")


def _run(args, console):
    from keras_mtl.config import ConfigError

    if args.command == "train":
        if args.cpu_devices is not None:
            from keras_mtl.distribution import configure_devices

            configure_devices(args.cpu_devices)
        from keras_mtl.training import train

        config = read_config(args.config or DEFAULT_CONFIG)
        training = config.get("training") or {}
        if args.strategy is not None and isinstance(training, dict):
            config["training"] = {**training, "strategy": args.strategy}
        train(config, output=args.output, epochs=args.epochs,
              verbose=console.keras_verbose, log=console.say)
    elif args.command == "compare":
        from keras_mtl.compare import compare

        config = read_config(args.config)
        if args.epochs is not None:
            if args.epochs < 1:
                raise ConfigError(f"--epochs must be >= 1, got {args.epochs}.")
            if args.budget == "convergence":
                raise ConfigError("--epochs sets the epochs of --budget epochs and steps; "
                                  "--budget convergence trains up to --max-epochs.")
            config.setdefault("training", {})["epochs"] = args.epochs
        options = dict(seeds=args.seeds, log=console.say, budget=args.budget,
                       learning_rates=args.learning_rates, max_epochs=args.max_epochs,
                       patience=args.patience)
        if args.pairs:
            from keras_mtl.transfer.pairwise import pairwise

            if args.sharing or args.gradient_methods:
                raise ConfigError("--pairs trains hard-shared models of each pair of tasks; "
                                  "--sharing and --gradient-methods belong to a plain compare.")
            pairwise(config, args.output, affinity=args.affinity, **options)
        else:
            if args.affinity:
                raise ConfigError("--affinity is read by --pairs (the affinity's ground "
                                  "truth); add --pairs.")
            compare(config, args.output, sharing=args.sharing,
                    gradient_methods=args.gradient_methods, **options)
    elif args.command == "affinity":
        from keras_mtl.affinity import affinity

        affinity(read_config(args.config), args.output, every=args.every, epochs=args.epochs,
                 max_groups=args.max_groups, batch_size=args.batch_size, log=console.say,
                 verbose=console.keras_verbose)
    elif args.command == "evaluate":
        from keras_mtl.training import evaluate_run, format_metrics

        metrics = evaluate_run(args.model, split=args.split)
        console.say(format_metrics(metrics))
        print(json.dumps(metrics, indent=2))
    elif args.command == "export":
        _export(args, console)
    elif args.command == "predict":
        from keras_mtl.preprocessing.text_inputs import check_texts

        texts = list(args.texts)
        if args.pair is not None and len(args.pair) != len(texts):
            raise ConfigError(
                f"--pair gives {len(args.pair)} second text(s) for {len(texts)} text(s); "
                "give one per TEXT ('' for none)."
            )
        _, pairs = check_texts(texts, args.pair, [])
        tasks, predictions = _predict_any(args.model, texts, pairs)
        print(json.dumps(_json_ready(tasks, predictions, texts, pairs), indent=2))
    return 0


def _export(args, console):
    from keras_mtl.config import ConfigError
    from keras_mtl.export import export_edge_bundle, export_onnx, export_saved_model
    from keras_mtl.outputs import check_new_directory, check_new_file
    from keras_mtl.training import load_run

    if args.quantize and args.format == "saved_model":
        raise ConfigError("--quantize applies to --format onnx and edge only.")
    # Refuse an occupied output before the (slow) model load.
    if args.format == "onnx":
        check_new_file(args.output, "ONNX file")
    else:
        check_new_directory(args.output, f"{args.format.replace('_', ' ')} folder")
    model, _ = load_run(args.model)
    if args.format == "edge":
        export_edge_bundle(model, args.output, quantize=args.quantize)
        console.say(f"Wrote edge bundle {args.output} (model.onnx, vocab.txt, bundle.json).")
    elif args.format == "onnx":
        export_onnx(model, args.output, quantize=args.quantize)
        console.say(f"Wrote ONNX {args.output} (outputs: "
                    f"{', '.join(t + '_scores' for t in model.task_names)}).")
    else:
        export_saved_model(model, args.output)
        console.say(f"Wrote SavedModel {args.output} (signatures: serving_default, "
                    "serve_token_ids).")


if __name__ == "__main__":
    sys.exit(main())
