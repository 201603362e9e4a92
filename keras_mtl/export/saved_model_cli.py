"""TensorFlow's `saved_model_cli`, with the TF Text ops registered.

The stock `saved_model_cli run` cannot load graphs that use TF Text ops (our
tokenizer), because nothing imports `tensorflow_text` first:

    python -m keras_mtl.export.saved_model_cli run --dir saved_models/atis/1 \\
        --tag_set serve --signature_def serving_default \\
        --input_exprs 'text=["show me flights to boston"]'

`show` works with the stock binary too.
"""

import sys

import tensorflow_text  # noqa: F401  (registers the tokenizer's ops)
from tensorflow.python.tools.saved_model_cli import main

if __name__ == "__main__":
    sys.argv[0] = "saved_model_cli"
    sys.exit(main())
