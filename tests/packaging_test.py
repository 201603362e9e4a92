import importlib

import keras_hub

import keras_mtl


def test_keras_nlp_alias_still_imports():
    keras_nlp = importlib.import_module("keras_nlp")
    assert keras_nlp.models.BertBackbone is keras_hub.models.BertBackbone


def test_public_names_resolve():
    for name in keras_mtl.__all__:
        assert getattr(keras_mtl, name) is not None
    assert keras_mtl.__version__ == "0.1.0"
