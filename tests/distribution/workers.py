"""Runs scripts in fresh processes (devices are fixed when TF / JAX start) with a
time limit, and picks free loopback ports."""

import json
import os
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE_BACKEND = {"mirrored": "tensorflow", "multi_worker": "tensorflow", "data_parallel": "jax"}


def skip_unless_backend(pytest, strategy):
    """Each engine's test runs once, in the suite of its backend."""
    backend = ENGINE_BACKEND[strategy]
    if os.environ.get("KERAS_BACKEND", "tensorflow") != backend:
        pytest.skip(f"runs in the {backend} suite")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("KERAS_BACKEND", "XLA_FLAGS", "TF_CONFIG")
           and not k.startswith("KERAS_DISTRIBUTION_")}
    env.update(extra)
    return env


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_script(name, *args, timeout=300):
    """`(returncode, last JSON line or None, stderr)` of `python HERE/name args`."""
    result = subprocess.run(
        [sys.executable, os.path.join(HERE, name), *map(str, args)],
        env=clean_env(), capture_output=True, text=True, timeout=timeout,
    )
    return result.returncode, _last_json(result.stdout), result.stderr


def run_workers(name, args_for_worker, count=2, timeout=300):
    """Starts `count` processes together; kills them all if any outlives `timeout`.

    Returns a list of `(returncode, last JSON line or None, stderr)`.
    """
    processes = [
        subprocess.Popen(
            [sys.executable, os.path.join(HERE, name), *map(str, args_for_worker(i))],
            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for i in range(count)
    ]
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=timeout)
            results.append((process.returncode, _last_json(out), err))
    except subprocess.TimeoutExpired:
        for process in processes:
            process.kill()
        for process in processes:
            process.communicate()
        raise
    return results


def _last_json(stdout):
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None
