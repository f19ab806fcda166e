"""``jamming phic`` refuses what it cannot answer: one line naming the flag, exit code 2.

In process (``main(argv)``), so that a traceback fails the test; ``tests/test_cli.py`` runs
the happy paths as subprocesses.
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys

import pytest

from jamming.cli import main
from jamming.theory.phi_c import ACTIVATIONS, APPLIES_TO, MODEL_ACTIVATIONS, MODELS, phi_c

#: A parameter of phi_c named as in Python (``input_dim``, ``model=``), not as a flag.
PYTHON_NAME = re.compile(
    rf"(?<![-\w])({'|'.join(inspect.signature(phi_c).parameters)})(?![-\w])")

#: Each optional parameter of phi_c as phic's arguments, with a valid value.
OPTIONS = {"activation": ["--activation", "tanh"], "input_dim": ["--input-dim", "4"],
           "depth": ["--depth", "2"], "bias": ["--bias"],
           "psi": ["--features-per-dim", "2"]}


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch):
    monkeypatch.delenv("JAMMING_DEBUG", raising=False)


def phic(capsys, *args):
    """Exit code, stdout and stderr of ``jamming phic ARGS``."""
    code = main(["phic", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(capsys, args, fragment: str):
    """Exit code 2, exactly one line on stderr with ``fragment``, naming flags only."""
    code, out, err = phic(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and out == "", err
    assert lines[0].startswith("jamming: error: ") and fragment in lines[0], lines[0]
    assert not PYTHON_NAME.search(lines[0]), lines[0]


def json_answer(capsys, *args) -> dict:
    code, out, err = phic(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("name", OPTIONS)
@pytest.mark.parametrize("model", MODELS)
def test_each_option_applies_to_its_models_only(capsys, model, name):
    sizes = ["--width", "8"] + ([] if model == "gaussian" else ["--input-dim", "4"])
    args = ["--model", model, *sizes, *OPTIONS[name]]
    if model in APPLIES_TO[name]:
        assert json_answer(capsys, *args)["phi_c"] == 2.0
    else:
        flag = OPTIONS[name][0]
        models = " or ".join(f"--model {m}" for m in APPLIES_TO[name])
        assert_refused(capsys, args, f"{flag} applies only to {models}; got --model {model}")


def test_depth_with_gaussian_features_says_why(capsys):
    assert_refused(capsys, ["--model", "gaussian", "--depth", "2"],
                   "jamming: error: --depth applies only to --model ntk")


def test_no_feature_is_refused(capsys):
    assert_refused(capsys, ["--model", "random-features", "--features-per-dim", "0.001",
                            "--input-dim", "100"],
                   "N_eff = --features-per-dim * --input-dim = 0.001 * 100 = 0.1 rounds to 0 "
                   "features; --features-per-dim must be > 0.005 at --input-dim 100")


def test_n_eff_is_the_rank_of_the_features(capsys):
    identity = ["--model", "random-features", "--activation", "identity", "--input-dim", "10"]
    wide = json_answer(capsys, *identity, "--width", "50")
    assert wide["n_eff"] == 10 and wide["n_data"] == 20.0
    assert json_answer(capsys, *identity, "--width", "5")["n_eff"] == 5
    assert json_answer(capsys, *identity, "--features-per-dim", "3", "--loss",
                       "square")["n_eff"] == 10
    relu = json_answer(capsys, "--model", "random-features", "--input-dim", "10", "--width",
                       "50")
    assert relu["n_eff"] == 50
    linear_network = json_answer(capsys, "--model", "ntk", "--activation", "identity",
                                 "--input-dim", "10", "--width", "100", "--depth", "3",
                                 "--bias")
    assert linear_network["n_eff"] == 11


@pytest.mark.parametrize("model", ["random-features", "ntk"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_choices_are_the_theory_names_of_each_model(capsys, model, activation):
    args = ["--model", model, "--activation", activation, "--input-dim", "4", "--width", "8"]
    if activation in MODEL_ACTIVATIONS[model]:
        assert json_answer(capsys, *args)["phi_c"] == 2.0
    else:
        assert_refused(capsys, args, f"--activation {activation} is not supported by "
                                     f"--model {model}; allowed: "
                                     f"{', '.join(MODEL_ACTIVATIONS[model])}")


def test_an_activation_no_model_covers_is_an_invalid_choice(capsys):
    assert_refused(capsys, ["--model", "random-features", "--activation", "linear"],
                   "invalid choice: 'linear' (choose from "
                   + ", ".join(map(repr, ACTIVATIONS)) + ")")


def test_the_simulators_activations_are_offered():
    from jamming.simulate.features import FEATURE_ACTIVATIONS

    for model in ("random-features", "ntk"):
        assert set(FEATURE_ACTIVATIONS) <= set(MODEL_ACTIVATIONS[model])


def test_building_the_parser_does_not_import_the_theory():
    code = ("import sys\nfrom jamming.cli import build_parser\nbuild_parser()\n"
            "print(sorted(m for m in sys.modules if m.startswith('jamming.theory')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize("args, fragment", [
    (["--features-per-dim", "1e300", "--input-dim", "100", "--labels", "teacher"],
     "--features-per-dim must be a finite number > 0 and <= 9007199254740992; got 1e+300"),
    (["--features-per-dim", "1e300", "--input-dim", "100"], "--features-per-dim must be"),
    (["--features-per-dim", "1e300", "--labels", "teacher"], "--features-per-dim must be"),
    (["--features-per-dim", "nan"], "got nan"),
    (["--features-per-dim", "inf", "--labels", "teacher"], "got inf"),
    (["--features-per-dim=-inf"], "got -inf"),
    (["--features-per-dim", "-1"], "got -1.0"),
    (["--features-per-dim", "0"], "got 0.0"),
    (["--features-per-dim", "1e12", "--input-dim", "100000"],
     "N_eff = --features-per-dim * --input-dim = 1e+12 * 100000 = 1e+17 must be <= 2**53"),
    (["--width", str(2**53 + 1), "--input-dim", "3"], "--width must be an integer in [1, 2**53]"),
])
def test_degenerate_sizes_are_one_line_errors(capsys, args, fragment):
    assert_refused(capsys, ["--model", "random-features", *args], fragment)


def test_huge_ntk_is_a_one_line_error(capsys):
    assert_refused(capsys, ["--model", "ntk", "--input-dim", str(2**30), "--width", str(2**30)],
                   "of --model ntk must be <= 2**53, the largest count float64 holds exactly; "
                   "lower --input-dim, --width or --depth")


@pytest.mark.parametrize("args, fragment", [
    (["--model", "ntk"], "--model ntk needs --input-dim and --width"),
    (["--model", "random-features", "--labels", "teacher"],
     "--model random-features with --labels teacher needs --features-per-dim (= N_eff/d), "
     "or --width and --input-dim"),
    (["--model", "random-features", "--width", "7", "--features-per-dim", "2", "--input-dim",
      "10"], "--width 7 contradicts --features-per-dim * --input-dim = 2 * 10 = 20"),
    (["--model", "random-features", "--width", "7"], "--model random-features needs "
                                                     "--input-dim with --width"),
    (["--model", "ntk", "--labels", "teacher", "--input-dim", "3", "--width", "3"],
     "no phi_c prediction for --labels teacher with --model ntk"),
    (["--model", "random-features", "--labels", "teacher", "--input-dim", "1", "--width", "5"],
     "relu features at --input-dim 1 span 2 dimensions, fewer than their number 5"),
])
def test_messages_name_the_flags(capsys, args, fragment):
    assert_refused(capsys, args, fragment)


def test_store_is_accepted_and_not_opened(capsys, tmp_path):
    store = tmp_path / "results.sqlite"
    code, out, err = phic(capsys, "--store", store, "--width", "4")
    assert code == 0 and out.startswith("phi_c = 2"), err
    assert not store.exists()
