"""`TaskDescription`: what decoding needs to know of a task, without Keras.

Artefacts (edge bundles, SavedModels) store `TaskSpec.describe()`; the edge
runtime and `keras-mtl predict` read it back into this light object, whose
`task_type` decodes and evaluates exactly as the model's `TaskSpec` would.
"""

from keras_mtl.tasks.bio import check_decoding
from keras_mtl.tasks.registry import get_task_type


class TaskDescription:
    """Name, type, labels, threshold, `text_pair` and decoding of a task (Keras-free).

    Example:

    >>> task = TaskDescription.from_dict({"name": "intent", "type": "classification",
    ...                                   "labels": ["a", "b"]})
    >>> task.task_type.decode(task, [0.2, 0.8])[0]
    'b'
    """

    def __init__(self, name, type, labels=None, threshold=0.5, text_pair=False,
                 type_module=None, decoding=None):
        self.name = name
        self.task_type = get_task_type(type, module=type_module)
        self.type = self.task_type.name
        self.labels = None if labels is None else list(labels)
        self.label_ids = {x: i for i, x in enumerate(self.labels or [])}
        self.threshold = float(threshold)
        self.text_pair = bool(text_pair)
        if decoding is None and self.task_type.decodings:
            # Artefacts written before the option existed decoded by argmax.
            decoding = "argmax"
        self.decoding = check_decoding(self.task_type, decoding, name)

    @property
    def token_level(self):
        return self.task_type.token_level

    @classmethod
    def from_dict(cls, description):
        known = ("name", "type", "labels", "threshold", "text_pair", "type_module",
                 "decoding")
        missing = [key for key in ("name", "type") if key not in description]
        if missing:
            raise ValueError(f"A task description needs {missing}; got {sorted(description)}.")
        return cls(**{k: v for k, v in description.items() if k in known})

    def __repr__(self):
        return f"TaskDescription({self.name!r}, {self.type!r})"
