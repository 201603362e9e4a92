"""Every config shipped in examples/ and benchmarks/configs/ passes the config checks
(names, types, known keys), so a documented command does not fail on its config."""

import glob
import os

import pytest

from keras_mtl.cli import read_config
from keras_mtl.config import resolve_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml"))
                 + glob.glob(os.path.join(ROOT, "benchmarks", "configs", "*.yaml")))


def test_there_are_configs():
    assert len(CONFIGS) >= 10


@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_config_resolves(path):
    config = resolve_config(read_config(path))
    assert config["tasks"] and config["name"]
