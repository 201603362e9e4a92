"""`training.strategy` / `training.mixed_precision` in configs and on the command line."""

import keras
import numpy as np
import pytest
import yaml

from keras_mtl import cli, make_dataset
from keras_mtl.config import ConfigError, resolve_config
from keras_mtl.distribution import Distribution
from tests.conftest import tiny_data, tiny_model

TASKS = [{"name": "intent", "type": "classification"}]


@pytest.mark.parametrize("training, message", [
    ({"strategy": "mirored"}, r"'training.strategy' is 'mirored'; known: \['data_parallel'"),
    ({"strategy": 2}, "'training.strategy' has the wrong type"),
    ({"mixed_precision": "bfloat16"}, r"'training.mixed_precision' is 'bfloat16'; known"),
])
def test_bad_distribution_configs_name_the_value(training, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config({"tasks": TASKS, "training": training})


def test_defaults_are_one_device_and_auto_precision():
    training = resolve_config({"tasks": TASKS})["training"]
    assert training["strategy"] is None and training["mixed_precision"] == "auto"
    training = resolve_config({"tasks": TASKS, "training": {
        "strategy": "multi_worker", "mixed_precision": "mixed_bfloat16"}})["training"]
    assert training["strategy"] == "multi_worker"
    training = resolve_config({"tasks": TASKS, "training": {"mixed_precision": "auto"}})
    assert training["training"]["mixed_precision"] == "auto"


def test_cli_strategy_flag_is_validated_like_the_config(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"tasks": TASKS}))
    assert cli.main(["train", str(path), "--strategy", "horovod"]) == 2
    assert "'training.strategy' is 'horovod'" in capsys.readouterr().err
    assert cli.main(["train", str(path), "--cpu-devices", "0"]) == 2
    assert "num_cpu_devices must be an int >= 1, got 0" in capsys.readouterr().err


def test_even_batches_pad_with_rows_that_count_for_nothing():
    keras.utils.set_random_seed(0)
    model = tiny_model()
    model.compile(keras.optimizers.Adam(1e-3))
    # 7 examples in batches of 4: sizes 4 and 3, padded to 4 and 4 for 2 replicas.
    data = tiny_data(repeat=2).subset(range(7))
    ds = make_dataset(model.preprocessor, data, batch_size=4, bucket_step=None)
    padded = Distribution(num_replicas=2).even_batches(ds, 4)
    assert padded.element_spec[0]["token_ids"].shape[0] == 4
    assert [int(x["token_ids"].shape[0]) for x, _, _ in padded] == [4, 4]
    assert Distribution().even_batches(ds, 4) is ds
    with pytest.raises(ValueError, match="batch size 4 does not split evenly over 3"):
        Distribution(num_replicas=3).even_batches(ds, 4)
    plain = model.evaluate(ds, verbose=0, return_dict=True)
    even = model.evaluate(padded, verbose=0, return_dict=True)
    for key in ("intent_accuracy", "slots_accuracy"):
        np.testing.assert_allclose(even[key], plain[key], rtol=1e-6)
