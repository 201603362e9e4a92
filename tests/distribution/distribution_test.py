"""The strategy registry, its errors, and mixed precision, in this process."""

import json

import keras
import numpy as np
import pytest

from keras_mtl import distribution, make_dataset
from keras_mtl.models.replica_loss import scale_loss
from tests.conftest import tiny_data, tiny_model
from tests.distribution.workers import run_script, skip_unless_backend

BACKEND = keras.config.backend()


def test_no_strategy_is_one_device():
    with distribution.distribution_scope(None) as dist:
        assert (dist.name, dist.engine, dist.num_replicas) == (None, None, 1)
        assert dist.is_chief and dist.global_batch_size(8) == 8
    assert distribution.Distribution(num_replicas=4).global_batch_size(8) == 32


def test_unknown_strategy_names_the_value():
    with pytest.raises(ValueError, match="Unknown strategy 'horovod'.*data_parallel"):
        with distribution.distribution_scope("horovod"):
            pass


@pytest.mark.parametrize("name", sorted(distribution.STRATEGIES))
def test_strategy_for_another_backend_names_both(name):
    engine_backend = distribution.STRATEGIES[name].backend
    if engine_backend == BACKEND:
        pytest.skip(f"{name} runs on {BACKEND}")
    with pytest.raises(ValueError) as error:
        distribution.get_strategy(name)
    message = str(error.value)
    assert repr(name) in message and engine_backend in message and BACKEND in message


def test_backends_without_a_strategy_say_so():
    if BACKEND != "torch":
        pytest.skip("torch has no strategy")
    with pytest.raises(ValueError, match="strategies for torch: none"):
        distribution.get_strategy("mirrored")


@pytest.mark.parametrize("tf_config, match", [
    (None, "needs TF_CONFIG"),
    ("{not json", "TF_CONFIG is not a JSON object"),
    (json.dumps({"task": {"type": "worker", "index": 0}}), "TF_CONFIG is not a JSON object"),
])
def test_multi_worker_needs_a_valid_tf_config(monkeypatch, tf_config, match):
    if BACKEND != "tensorflow":
        pytest.skip("multi_worker runs on tensorflow")
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ValueError, match=match):
        with distribution.distribution_scope("multi_worker"):
            pass


def test_configure_devices_rejects_bad_counts():
    for bad in (0, -1, 2.0, True, "2"):
        with pytest.raises(ValueError, match=repr(bad).replace("(", r"\(")):
            distribution.configure_devices(bad)


def test_scale_loss_is_identity_on_one_device():
    loss = keras.ops.convert_to_tensor(3.0)
    assert float(scale_loss(loss)) == 3.0


@pytest.fixture
def restore_policy():
    policy = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(policy)


def test_unknown_mixed_precision_policy(restore_policy):
    with pytest.raises(ValueError, match="'float8'"):
        distribution.set_mixed_precision("float8")


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_fits(restore_policy, policy):
    distribution.set_mixed_precision(policy)
    keras.utils.set_random_seed(0)
    model = tiny_model()
    model.compile(keras.optimizers.Adam(1e-3))
    assert model.backbone.dtype_policy.name == policy
    ds = make_dataset(model.preprocessor, tiny_data(repeat=2), batch_size=4)
    history = model.fit(ds, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    # Weights stay float32; the outputs the losses see are half precision.
    assert all(w.dtype == "float32" for w in model.trainable_weights)
    assert history.history["loss"][1] < history.history["loss"][0]
    distribution.set_mixed_precision(None)
    assert keras.config.dtype_policy().name == "float32"


AMD_FLAGS = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n"
OLD_FLAGS = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni\n"


@pytest.mark.parametrize("cpuinfo, expected", [
    (AMD_FLAGS, True),
    ("flags\t\t: fpu avx512f amx_bf16 amx_tile\n", True),
    (OLD_FLAGS, False),
    ("", False),  # no flags line: not a CPU we can read, so float32
    # A flag's name inside another one does not count.
    ("flags\t\t: fpu xavx512_bf16\n", False),
])
def test_cpu_bfloat16_is_read_from_the_flags(cpuinfo, expected):
    assert distribution.cpu_has_bfloat16(cpuinfo) is expected


def test_auto_precision_is_bfloat16_only_where_it_was_measured_faster():
    resolve = distribution.resolve_mixed_precision
    assert resolve("mixed_float16", "jax", cpuinfo=OLD_FLAGS) == "mixed_float16"
    assert resolve(None, "tensorflow", cpuinfo=AMD_FLAGS) is None
    # On this machine's CPU (no GPU in the test run): TensorFlow and PyTorch with bf16
    # instructions only; JAX stays float32 on CPU.
    if BACKEND in ("tensorflow", "torch"):
        assert resolve("auto", BACKEND, cpuinfo=AMD_FLAGS) == "mixed_bfloat16"
        assert resolve("auto", BACKEND, cpuinfo=OLD_FLAGS) is None
    else:
        assert resolve("auto", BACKEND, cpuinfo=AMD_FLAGS) is None


def test_auto_precision_sets_the_resolved_policy(restore_policy):
    expected = distribution.resolve_mixed_precision("auto")
    assert distribution.set_mixed_precision("auto") == expected
    assert keras.config.dtype_policy().name == (expected or "float32")
    with distribution.distribution_scope(None, mixed_precision="auto"):
        assert keras.config.dtype_policy().name == (expected or "float32")


def test_fused_adamw_matches_keras_on_two_replicas():
    skip_unless_backend(pytest, "mirrored")
    code, report, stderr = run_script("fused_optimizer_script.py", timeout=300)
    assert code == 0, stderr[-3000:]
    assert report["replicas"] == 2
    assert report["max_step"] > 0.01  # the weights moved
    assert report["max_difference"] < 1e-5
