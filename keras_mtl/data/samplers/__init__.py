"""Task samplers: how a `TaskMixture` draws from its datasets, one class per file."""

from keras_mtl.data.samplers.annealed import AnnealedSampler
from keras_mtl.data.samplers.base import TaskSampler
from keras_mtl.data.samplers.fixed import FixedSampler
from keras_mtl.data.samplers.proportional import ProportionalSampler
from keras_mtl.data.samplers.temperature import TemperatureSampler
from keras_mtl.data.samplers.uniform import UniformSampler
from keras_mtl.errors import ConfigError

SAMPLERS = {
    cls.name: cls
    for cls in (
        ProportionalSampler, TemperatureSampler, AnnealedSampler, UniformSampler, FixedSampler
    )
}


def get_sampler(sampler):
    """A `TaskSampler` from an instance, a name, or `{"name": ..., **options}`."""
    if isinstance(sampler, TaskSampler):
        return sampler
    options = {}
    if isinstance(sampler, dict):
        options = {k: v for k, v in sampler.items() if k != "name"}
        sampler = sampler.get("name")
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        raise ConfigError(
            f"Unknown sampler {sampler!r}; known samplers: {sorted(SAMPLERS)} "
            "(a name, or {name: ..., <option>: ...})."
        )
    try:
        return SAMPLERS[sampler](**options)
    except TypeError as error:  # an option the sampler does not take
        raise ConfigError(
            f"Bad options {sorted(options)} for sampler {sampler!r}: {error}"
        ) from None


__all__ = [
    "SAMPLERS", "AnnealedSampler", "FixedSampler", "ProportionalSampler", "TaskSampler",
    "TemperatureSampler", "UniformSampler", "get_sampler",
]
