"""`keras-mtl`: train, evaluate and predict from the command line.

    keras-mtl train [CONFIG] [--output DIR] [--epochs N] [--backend B]
                    [--strategy mirrored|multi_worker|data_parallel] [--cpu-devices N]
    keras-mtl evaluate RUN [--split test]
    keras-mtl predict RUN TEXT [TEXT ...] [--pair TEXT_PAIR ...]
    keras-mtl export RUN --output saved_models/NAME/VERSION
    keras-mtl export RUN --format onnx|edge [--quantize int8] --output PATH
    keras-mtl predict SAVED_MODEL_DIR|EDGE_BUNDLE TEXT ...
    keras-mtl compare CONFIG [--seeds N] [--sharing hard partial] --output DIR

With no CONFIG, `train` runs the embedded default (ATIS joint intent + slots on
the real MiniLM truncated to 2 layers). This is the only module that reads config
files. Keras is imported only after `--backend` has set `KERAS_BACKEND`.
"""

import argparse
import json
import os
import sys

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT_CONFIG = os.path.join(os.path.dirname(__file__), "configs", "atis_minilm2.yaml")


def _parser():
    parser = argparse.ArgumentParser(
        prog="keras-mtl", description="Multi-task NLU on Keras 3 and KerasHub BERT."
    )
    parser.add_argument(
        "--backend", choices=BACKENDS, default=None,
        help="Keras backend (default: $KERAS_BACKEND, else tensorflow).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="Train a multi-task model from a YAML config.")
    train.add_argument("config", nargs="?", default=None,
                       help="YAML config (default: the embedded ATIS MiniLM-2 job).")
    train.add_argument("--output", default=None, help="Output directory.")
    train.add_argument("--epochs", type=int, default=None, help="Override training.epochs.")
    train.add_argument("--backend", choices=BACKENDS, default=None, dest="sub_backend")
    train.add_argument("--strategy", default=None,
                       help="mirrored, multi_worker or data_parallel: overrides "
                       "training.strategy (see docs/distributed.md).")
    train.add_argument("--cpu-devices", type=int, default=None,
                       help="Split the CPU into N devices (try a strategy without GPUs).")

    evaluate = commands.add_parser("evaluate", help="Evaluate a trained run on a split.")
    evaluate.add_argument("model", help="Run directory (or its model.keras).")
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--backend", choices=BACKENDS, default=None, dest="sub_backend")

    export = commands.add_parser("export", help="Export a trained run for serving.")
    export.add_argument("model", help="Run directory (or its model.keras).")
    export.add_argument("--format", choices=["saved_model", "onnx", "edge"], default="saved_model",
                        help="edge: a folder with model.onnx, vocab.txt and bundle.json "
                        "for keras_mtl.edge.")
    export.add_argument("--quantize", choices=["int8"], default=None,
                        help="ONNX and edge only: dynamic int8 quantization of the weights.")
    export.add_argument("--output", required=True,
                        help="SavedModel version folder (e.g. saved_models/serving/atis/1) "
                        "or .onnx file.")
    export.add_argument("--backend", choices=BACKENDS, default=None, dest="sub_backend")

    compare = commands.add_parser(
        "compare", help="Multi-task vs one single-task model per task, over seeds (Δm)."
    )
    compare.add_argument("config", help="YAML config of the multi-task model.")
    compare.add_argument("--seeds", type=int, default=3, help="Training seeds 0..N-1.")
    compare.add_argument("--sharing", nargs="+", choices=["hard", "partial"], default=None,
                         help="Sharing mode(s) of the multi-task model (default: the config's).")
    compare.add_argument("--output", required=True, help="Folder for the runs and the report.")
    compare.add_argument("--epochs", type=int, default=None, help="Override training.epochs.")
    compare.add_argument("--backend", choices=BACKENDS, default=None, dest="sub_backend")

    predict = commands.add_parser("predict", help="Predict every task for texts (JSON).")
    predict.add_argument("model", help="Run directory (or its model.keras), an edge bundle "
                         "folder or a SavedModel version folder.")
    predict.add_argument("texts", nargs="+", metavar="TEXT")
    predict.add_argument("--pair", nargs="+", default=None, metavar="TEXT_PAIR",
                         help="Second texts for text-pair tasks, one per TEXT ('' for none).")
    predict.add_argument("--backend", choices=BACKENDS, default=None, dest="sub_backend")
    return parser


def read_config(path):
    """Parses a YAML config file; a `ConfigError` (not a traceback) when malformed."""
    import yaml

    from keras_mtl.config import ConfigError

    if not os.path.exists(path):
        raise ConfigError(f"Config file not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            config = yaml.safe_load(f)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
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
    SavedModel."""
    if os.path.isfile(os.path.join(path, "bundle.json")):
        from keras_mtl.edge import EdgeModel

        edge = EdgeModel(path)
        return edge.tasks, edge.predict(texts, pairs)
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return _predict_saved_model(path, texts, pairs)
    from keras_mtl.training import load_run

    model, _ = load_run(path)
    return model.tasks, model.predict_text(texts, text_pairs=pairs)


def _predict_saved_model(path, texts, pairs):
    """Calls the SavedModel's raw-text signature and decodes each task's outputs
    with its type (`TaskType.from_serving`; parsing: maximum spanning tree)."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the tokenizer's ops)

    from keras_mtl.export.saved_model import read_metadata
    from keras_mtl.preprocessing.text_inputs import check_texts

    tasks = read_metadata(path)
    texts, pairs = check_texts(texts, pairs, tasks)
    signatures = tf.saved_model.load(path).signatures
    has_pair = [p is not None for p in pairs]
    if any(has_pair):
        if "serve_text_pair" not in signatures:
            raise ValueError(f"{path} has no text-pair task (no serve_text_pair signature).")
        out = signatures["serve_text_pair"](
            text=tf.constant(texts), text_pair=tf.constant([p or "" for p in pairs])
        )
    else:
        out = signatures["serving_default"](text=tf.constant(texts))
    out = {k: v.numpy() for k, v in out.items()}
    predictions = {}
    for task in tasks:
        prefix = f"{task.name}_"
        outputs = {k[len(prefix):]: v for k, v in out.items() if k.startswith(prefix)}
        labels, scores = task.task_type.from_serving(task, outputs, out["num_words"])
        if task.text_pair:
            labels = [label if pair else None for label, pair in zip(labels, has_pair)]
        predictions[task.name] = {"labels": labels, "scores": scores}
    return tasks, predictions


def main(argv=None):
    args = _parser().parse_args(argv)
    _set_backend(getattr(args, "sub_backend", None) or args.backend)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from keras_mtl.config import ConfigError

    try:
        if args.command == "train":
            if args.cpu_devices is not None:
                from keras_mtl.distribution import configure_devices

                configure_devices(args.cpu_devices)
            from keras_mtl.training import train

            config = read_config(args.config or DEFAULT_CONFIG)
            training = config.get("training") or {}
            if args.strategy is not None and isinstance(training, dict):
                config["training"] = {**training, "strategy": args.strategy}
            verbose = 1 if sys.stdout.isatty() else 2
            train(config, output=args.output, epochs=args.epochs, verbose=verbose)
        elif args.command == "compare":
            from keras_mtl.compare import compare

            config = read_config(args.config)
            if args.epochs is not None:
                if args.epochs < 1:
                    raise ConfigError(f"--epochs must be >= 1, got {args.epochs}.")
                config.setdefault("training", {})["epochs"] = args.epochs
            compare(config, args.output, seeds=args.seeds, sharing=args.sharing)
        elif args.command == "evaluate":
            from keras_mtl.training import evaluate_run, format_metrics

            metrics = evaluate_run(args.model, split=args.split)
            print(format_metrics(metrics))
            print(json.dumps(metrics, indent=2))
        elif args.command == "export":
            from keras_mtl.export import export_edge_bundle, export_onnx, export_saved_model
            from keras_mtl.training import load_run

            if args.quantize and args.format == "saved_model":
                raise ConfigError("--quantize applies to --format onnx and edge only.")
            model, _ = load_run(args.model)
            if args.format == "edge":
                export_edge_bundle(model, args.output, quantize=args.quantize)
                print(f"Wrote edge bundle {args.output} (model.onnx, vocab.txt, bundle.json).")
            elif args.format == "onnx":
                export_onnx(model, args.output, quantize=args.quantize)
                print(f"Wrote ONNX {args.output} (outputs: "
                      f"{', '.join(t + '_scores' for t in model.task_names)}).")
            else:
                export_saved_model(model, args.output)
                print(f"Wrote SavedModel {args.output} (signatures: serving_default, "
                      "serve_token_ids).")
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
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
