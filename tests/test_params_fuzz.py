"""Every method's parameters against wrong types, zero, negative, huge, NaN and infinite
values: a bad value is one ValueError line before any work (CLI: exit 2), never another
exception. Values that happen to be valid must fit (the fit stops after set-up)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clustlib import load_dataset
from clustlib.methods import METHODS
from clustlib.params import COMMON

WEIRD = ["x", "", [1, 2], {"a": 1}, -1, 0, 1, -0.5, 0.5, 2.5, -1e9, 10**12, 1e308,
         float("nan"), float("inf"), float("-inf"), True, None]


@pytest.fixture(scope="module")
def data():  # each method's own small data (it declares it: small_data)
    return {name: (lambda ds: (ds.X, ds.y))(load_dataset(cls.small_data)) for name, cls in METHODS.items()}


def test_every_parameter_has_a_rule():
    for name, cls in METHODS.items():
        rules = {**COMMON, **cls.PARAM_RULES}
        missing = [p for p in cls._get_param_names() if p not in rules]
        assert not missing, f"{name}: no rule for {missing}"


@pytest.mark.parametrize("method", sorted(METHODS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hyp=st.data())
def test_bad_values_give_one_value_error(method, data, hyp):
    cls = METHODS[method]
    name = hyp.draw(st.sampled_from(cls._get_param_names()), label="parameter")
    value = hyp.draw(st.sampled_from(WEIRD), label="value")
    X, y = data[method]
    k = min(5, len(set(y.tolist())) + 1)
    est = cls.from_preset("tiny", n_clusters=k, random_state=0, device="cpu")
    est.set_params(**{name: value})
    try:
        est.fit(X, y, callbacks=[lambda e, s: True])  # stop right after set-up
    except ValueError as err:
        assert str(err).strip() and "\n" not in str(err).strip()


@pytest.mark.parametrize("sets,match", [
    (["--set", "max_iter=2.5"], "max_iter=2.5 must be an integer"),
    (["--set", "lr=nan"], "lr="), (["--set", "n_clusters=4"], "--n-clusters"),
    (["--set", "random_state=1"], "--seed"), (["--n-clusters", "0"], "at least 2"),
    (["--set", "hidden=100000"], "hidden=100000")])
def test_cli_bad_values_exit_2_with_one_line(sets, match, tmp_path, capsys):
    from clustlib.cli import main

    code = main(["train", "knet", "--data", "moons:n=60", "--preset", "tiny", "--quiet",
                 "--out", str(tmp_path / "r"), *sets])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and match in err
    assert not (tmp_path / "r").exists()


def test_an_internal_error_exits_1_and_points_to_the_traceback(tmp_path, capsys, monkeypatch):
    from clustlib import cli

    def boom(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "cmd_datasets", boom)
    assert cli.main(["datasets"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (ZeroDivisionError)" in err
    log = err.split("traceback is in ")[1].split(" --")[0]
    assert "ZeroDivisionError: a bug" in open(log).read()
