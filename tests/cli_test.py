import json

import pytest
import yaml

from keras_mtl import cli
from keras_mtl.config import ConfigError, resolve_config

TASKS = [{"name": "intent", "type": "classification"}]
TASKS2 = TASKS + [{"name": "slots", "type": "token_classification"}]


@pytest.mark.parametrize(
    "config, message",
    [
        ([1, 2], "must be a mapping"),
        ({"tasks": TASKS, "trainig": {}}, r"Unknown config section\(s\) \['trainig'\]"),
        ({"tasks": TASKS, "training": {"epochs": "ten"}}, "'training.epochs' has the wrong type"),
        ({"tasks": TASKS, "training": {"epochs": 0}}, "'training.epochs' must be >= 1"),
        ({"tasks": TASKS, "training": {"lr": 1}}, r"Unknown key\(s\) \['lr'\] in 'training'"),
        ({"tasks": []}, "'tasks' must be a non-empty list"),
        ({"tasks": [{"name": "x", "type": "ner"}]}, "'tasks\\[0\\].type' is 'ner'"),
        ({"tasks": [{"type": "classification"}]}, "'tasks\\[0\\]' has no 'name'"),
        ({"tasks": TASKS, "data": {"sampler": "zipf"}}, "'data.sampler': Unknown sampler 'zipf'"),
        (
            {"tasks": TASKS, "data": {"dataset": ["atis", "wnut16"],
                                      "sampler": {"name": "fixed", "weights": [0.6, 0.6]}}},
            "'data.sampler': Sampler weights must sum to 1",
        ),
        (
            {"tasks": TASKS, "data": {"dataset": ["atis", "wnut16"],
                                      "sampler": {"name": "fixed", "weights": {"atis": 1.0}}}},
            "name datasets \\['atis'\\], the mixture has \\['atis', 'wnut16'\\]",
        ),
        ({"tasks": TASKS, "data": {"dataset": ["atis", "atis"]}}, "names a dataset twice"),
        ({"tasks": TASKS, "data": {"dataset": {}}}, "names no dataset"),
        ({"tasks": TASKS, "data": {"dataset": {"vader": "tweets"}}}, "must be a mapping of loader options"),
        ({"tasks": TASKS, "backbone": {"sharing": "soft"}}, "'backbone.sharing' is 'soft'"),
        ({"tasks": TASKS, "backbone": {"tie_weight": 0.1}}, "needs 'backbone.sharing: partial'"),
        ({"tasks": TASKS, "backbone": {"initial_weights": " "}},
         "'backbone.initial_weights' must be a run folder or a .keras file"),
        ({"tasks": TASKS, "backbone": {"initial_weights": 3}},
         "'backbone.initial_weights' has the wrong type"),
        ({"tasks": TASKS, "training": {"gradient_method": "pcgrad"}},
         "'training.gradient_method': gradient method 'pcgrad' combines the gradients of "
         "several tasks; the model has 1 task"),
        ({"tasks": TASKS2, "training": {"gradient_method": "gradnorm"}},
         "Unknown gradient method 'gradnorm'; known: \\['pcgrad', 'famo'\\]"),
        ({"tasks": TASKS2, "training": {"gradient_method": "pcgrad", "strategy": "mirrored"}},
         "not supported with 'training.strategy' 'mirrored'"),
        ({"tasks": TASKS2, "training": {"gradient_method": "famo"},
          "weighting": {"strategy": "dwa"}}, "'famo' sets the task weights itself"),
        ({"tasks": TASKS, "training": {"affinity_every": 10}},
         "task affinity needs at least 2 tasks, the config has 1"),
        ({"tasks": TASKS2, "training": {"affinity_every": 0}},
         "'training.affinity_every' must be >= 1"),
        ({"tasks": TASKS2, "training": {"affinity_every": 10, "affinity_batch_size": 0}},
         "'training.affinity_batch_size' must be >= 1"),
        ({"tasks": TASKS2, "backbone": {"sharing": "attention", "tie_weight": 0.1}},
         "needs 'backbone.sharing: partial'"),
    ],
)
def test_bad_configs_name_the_field(config, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(config)


def test_malformed_yaml_is_a_message_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("tasks: [name: intent\n  type: : :\n")
    assert cli.main(["train", str(path)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_task_missing_from_dataset_is_refused(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"tasks": [{"name": "sentiment", "type": "classification"}]}))
    assert cli.main(["train", str(path), "--output", str(tmp_path / "out")]) == 2
    assert "Dataset 'atis' labels none of the tasks ['sentiment']" in capsys.readouterr().err


def test_task_without_data_and_unknown_dataset_are_refused(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    tasks = [
        {"name": "intent", "type": "classification"},
        {"name": "ner", "type": "token_classification"},
        {"name": "topic", "type": "classification"},
    ]
    path.write_text(yaml.safe_dump({"data": {"dataset": ["atis", "wnut16"]}, "tasks": tasks}))
    assert cli.main(["train", str(path), "--output", str(tmp_path / "out")]) == 2
    assert "Task 'topic' has no labels in the training data" in capsys.readouterr().err
    path.write_text(yaml.safe_dump({"data": {"dataset": ["atis", "imdb"]}, "tasks": tasks[:1]}))
    assert cli.main(["train", str(path), "--output", str(tmp_path / "out")]) == 2
    assert "Unknown dataset 'imdb'" in capsys.readouterr().err


def test_default_config_is_valid():
    config = resolve_config(cli.read_config(cli.DEFAULT_CONFIG))
    assert config["backbone"]["num_layers"] == 2 and config["data"]["dataset"] == {"atis": {}}


def test_predict_prints_json_for_a_saved_model(tmp_path, capsys):
    from tests.conftest import tiny_model

    model = tiny_model()
    model.save(str(tmp_path / "model.keras"))
    assert cli.main(["predict", str(tmp_path), "show me flights to boston"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["text"] == "show me flights to boston"
    assert rows[0]["slots"]["words"] == "show me flights to boston".split()
    assert len(rows[0]["slots"]["labels"]) == len(rows[0]["slots"]["scores"]) == 5
    assert rows[0]["intent"]["label"] in ("atis_airfare", "atis_flight")


@pytest.mark.parametrize(
    "weighting, message",
    [
        ("dwb", "Unknown weighting strategy 'dwb'"),
        ({"strategy": "dwa", "temprature": 2}, "Bad options for weighting strategy 'dwa'"),
        ({"alpha": 1.5}, "must be a strategy name or a mapping with 'strategy'"),
    ],
)
def test_bad_weighting_configs(weighting, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config({"tasks": TASKS, "weighting": weighting})


def test_weighting_config_forms():
    assert resolve_config({"tasks": TASKS, "weighting": "dwa"})["weighting"] == {"strategy": "dwa"}
    config = resolve_config({"tasks": TASKS, "weighting": {"strategy": "gradnorm", "alpha": 1.0}})
    assert config["weighting"] == {"strategy": "gradnorm", "alpha": 1.0}


def test_export_writes_a_saved_model(tmp_path, capsys):
    from tests.conftest import tiny_model

    tiny_model().save(str(tmp_path / "model.keras"))
    out = tmp_path / "serving" / "1"
    assert cli.main(["export", str(tmp_path), "--output", str(out)]) == 0
    assert (out / "saved_model.pb").exists()
    assert "serving_default" in capsys.readouterr().out


def test_export_onnx_and_refuse_quantized_saved_model(tmp_path, capsys):
    from tests.conftest import tiny_model

    tiny_model().save(str(tmp_path / "model.keras"))
    assert cli.main(["export", str(tmp_path), "--format", "onnx", "--quantize", "int8",
                     "--output", str(tmp_path / "m.onnx")]) == 0
    assert (tmp_path / "m.onnx").exists() and "slots_scores" in capsys.readouterr().out
    assert cli.main(["export", str(tmp_path), "--quantize", "int8", "--output", str(tmp_path / "s")]) == 2
    assert "--quantize applies to --format onnx and edge only" in capsys.readouterr().err


def test_predict_runs_saved_models_and_edge_bundles_like_keras(tmp_path, capsys):
    from tests.conftest import tiny_model

    tiny_model().save(str(tmp_path / "model.keras"))
    text = "show me flights from boston to denver"
    assert cli.main(["predict", str(tmp_path), text]) == 0
    keras_row = json.loads(capsys.readouterr().out)[0]
    assert cli.main(["export", str(tmp_path), "--output", str(tmp_path / "serving" / "1")]) == 0
    assert cli.main(["export", str(tmp_path), "--format", "edge", "--output", str(tmp_path / "edge")]) == 0
    capsys.readouterr()
    for artefact in (tmp_path / "serving" / "1", tmp_path / "edge"):
        assert cli.main(["predict", str(artefact), text]) == 0
        row = json.loads(capsys.readouterr().out)[0]
        assert row["intent"]["label"] == keras_row["intent"]["label"]
        assert row["slots"]["labels"] == keras_row["slots"]["labels"]
        assert row["intent"]["score"] == pytest.approx(keras_row["intent"]["score"], abs=1e-4)


def test_a_bad_treebank_and_a_bad_type_module_are_messages_not_tracebacks(tmp_path, capsys):
    conllu = tmp_path / "bad-ud-train.conllu"
    conllu.write_text("# text = fly home\n1\tfly\tfly\tVERB\tVB\t_\t0\troot\t_\t_\n"
                      "2\thome\thome\tADV\tRB\t_\t7\tadvmod\t_\t_\n\n")
    config = {"data": {"dataset": {"ud": {"train": str(conllu)}}},
              "tasks": [{"name": "parse", "type": "dependency_parsing"}]}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert cli.main(["train", str(path), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{conllu}:3: HEAD 7 out of range" in err and "Traceback" not in err
    config["tasks"] = [{"name": "parse", "type": "mine", "type_module": "no_such_module_here"}]
    path.write_text(yaml.safe_dump(config))
    assert cli.main(["train", str(path)]) == 2
    assert "'tasks[0].type_module': cannot import 'no_such_module_here'" in capsys.readouterr().err


def test_predict_pairs_must_match_the_texts(tmp_path, capsys):
    from keras_mtl import TaskSpec
    from tests.conftest import tiny_model

    model = tiny_model([TaskSpec("similar", "regression", text_pair=True)])
    model.save(str(tmp_path / "model.keras"))
    assert cli.main(["predict", str(tmp_path), "a", "b", "--pair", "c"]) == 2
    assert "--pair gives 1 second text(s) for 2 text(s)" in capsys.readouterr().err
    assert cli.main(["predict", str(tmp_path), "show me flights"]) == 2
    assert "Text 0 has no second text" in capsys.readouterr().err
    assert cli.main(["predict", str(tmp_path), "show me flights", "--pair", "to boston"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["text_pair"] == "to boston" and isinstance(row["similar"]["value"], float)


def test_compare_sharing_entries_name_a_mode_and_optionally_a_gradient_method(capsys):
    from keras_mtl.models.gradient_methods import METHODS
    from keras_mtl.models.multi_task_model import SHARING_MODES

    assert cli.SHARING_CHOICES == tuple(SHARING_MODES)  # the parser's copy of them
    assert cli.GRADIENT_CHOICES == tuple(METHODS)
    args = cli._parser().parse_args(
        ["compare", "c.yaml", "--output", "o", "--sharing", "hard", "attention", "hard+famo"])
    assert args.sharing == ["hard", "attention", "hard+famo"]
    for bad in ("soft", "hard+gradnorm", "hard+"):
        with pytest.raises(SystemExit):
            cli._parser().parse_args(["compare", "c.yaml", "--output", "o", "--sharing", bad])
        assert f"'{bad}': give a sharing mode (hard, partial, attention)" in capsys.readouterr().err
