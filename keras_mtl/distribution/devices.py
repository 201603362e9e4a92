"""Devices: splitting the host CPU into logical devices, and what the backend runs on."""

import os
import sys

import keras


def configure_devices(num_cpu_devices):
    """Splits the host CPU into `num_cpu_devices` devices for TF and JAX.

    Must run before TensorFlow and JAX initialise their devices (before the first
    TF op and the first JAX computation; importing them is fine). Useful to try
    strategies on a machine without accelerators; GPUs are found without it.

    Example:

    ```python
    import keras_mtl.distribution as distribution
    distribution.configure_devices(2)   # first thing in the process
    with distribution.distribution_scope("mirrored") as dist:
        dist.num_replicas  # 2 (KERAS_BACKEND=tensorflow)
    ```
    """
    if not isinstance(num_cpu_devices, int) or isinstance(num_cpu_devices, bool) \
            or num_cpu_devices < 1:
        raise ValueError(f"num_cpu_devices must be an int >= 1, got {num_cpu_devices!r}.")
    if _jax_devices_initialized():
        raise RuntimeError(
            "configure_devices must run before JAX initialises its devices (their "
            "count is read once, from XLA_FLAGS, at the first JAX computation)."
        )
    flag = f"--xla_force_host_platform_device_count={num_cpu_devices}"
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split()
             if not f.startswith("--xla_force_host_platform_device_count")]
    os.environ["XLA_FLAGS"] = " ".join(flags + [flag])
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * num_cpu_devices
        )
    except RuntimeError as error:
        raise RuntimeError(
            "configure_devices must run before TensorFlow initialises its devices "
            f"(before the first op): {error}"
        ) from None


def _jax_devices_initialized():
    if "jax" not in sys.modules:
        return False
    from jax._src import xla_bridge

    return xla_bridge.backends_are_initialized()


def _local_tf_devices():
    """Local GPUs, else every logical CPU (more than one after `configure_devices`)."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]


def describe_devices():
    """One line on what the backend computes on, e.g. `"tensorflow 2.21.0 on 1 CPU
    (2 cores); no GPU"`."""
    backend = keras.config.backend()
    cores = os.cpu_count() or 1
    if backend == "tensorflow":
        import tensorflow as tf

        version = tf.__version__
        gpus = len(tf.config.list_logical_devices("GPU"))
        cpus = len(tf.config.list_logical_devices("CPU"))
    elif backend == "jax":
        import jax

        version = jax.__version__
        devices = jax.devices()
        gpus = sum(d.platform == "gpu" for d in devices)
        cpus = len(devices) - gpus
    else:
        import torch

        version = torch.__version__
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        cpus = 1
    parts = []
    if gpus:
        parts.append(f"{gpus} GPU{'s' if gpus > 1 else ''}")
    if cpus:
        parts.append(f"{cpus} CPU device{'s' if cpus > 1 else ''} ({cores} cores)")
    text = f"{backend} {version} on " + " and ".join(parts)
    return text if gpus else text + "; no GPU"
