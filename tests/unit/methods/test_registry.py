"""The registry: names, options, errors that name the field and the fix."""

from __future__ import annotations

import warnings

import pytest

from paretosweep import methods
from paretosweep.errors import ConfigError, UnknownNameError
from tests.unit.methods.method_inputs import REQUIRED_OPTIONS, build

ALL = (
    "alignedmtl",
    "cagrad",
    "dualproj",
    "dwa",
    "equal",
    "famo",
    "gradnorm",
    "gradsim",
    "imtlg",
    "metabalance",
    "mgda",
    "mtadam",
    "nashmtl",
    "pcgrad",
    "rlw",
    "stch",
    "uncertainty",
    "unitary",
    "upgrad",
)


def test_every_method_is_registered_with_a_summary() -> None:
    listed = methods.available_methods()
    assert tuple(listed) == ALL
    assert all(summary and "\n" not in summary for summary in listed.values())


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(UnknownNameError, match=r"Unknown method `pcgard`\. Did you mean `pcgrad`\? Available: alignedmtl, cagrad, "):
        methods.create("pcgard", n_tasks=2)


def test_unknown_option_names_the_field_and_suggests() -> None:
    with pytest.raises(UnknownNameError, match=r"`methods\[1\]\.alpah` of method `gradnorm`\. Did you mean `alpha`\?"):
        methods.create("gradnorm", n_tasks=2, field="methods[1]", alpah=1.0)


@pytest.mark.parametrize(
    ("name", "options", "pattern"),
    [
        ("gradnorm", {"alpha": -0.5}, r"`methods\[0\]\.alpha` should be a number >= 0\. Found `methods\[0\]\.alpha = -0\.5`"),
        ("cagrad", {"c": -1}, r"`methods\[0\]\.c` should be a number >= 0"),
        ("metabalance", {"main_task": 0, "relax_factor": 1.5}, r"`methods\[0\]\.relax_factor` should be a number >= 0 and <= 1"),
        ("metabalance", {"main_task": 0, "relax_factor": -0.1}, r"relax_factor"),
        ("metabalance", {"main_task": 0, "beta": 1.0}, r"`methods\[0\]\.beta` should be a number >= 0 and < 1"),
        ("gradnorm", {"alpha": "big"}, r"alpha` should be a number >= 0\. Found `methods\[0\]\.alpha = 'big'`"),
        ("gradnorm", {"alpha": True}, r"alpha` should be a number"),
        ("cagrad", {"c": float("nan")}, r"c` should be a number >= 0"),
        ("gradsim", {"main_task": 1.0}, r"main_task` should be a task index in 0\.\.2 \(3 tasks\)"),
        ("gradsim", {"main_task": 3}, r"main_task` should be a task index in 0\.\.2"),
        ("gradsim", {"main_task": 0, "weighted": "yes"}, r"weighted` should be true or false"),
        ("mgda", {"normalization": "L2"}, r"normalization` should be one of `none`, `l2`, `loss`, `loss\+`"),
        ("nashmtl", {"update_weights_every": 0}, r"update_weights_every` should be an integer >= 1"),
        ("cagrad", {"rescale": 3}, r"rescale` should be an integer >= 0 and <= 2"),
        ("dwa", {"temperature": 0}, r"temperature` should be a number > 0"),
        ("rlw", {"distribution": "uniform"}, r"distribution` should be one of `normal`, `dirichlet`"),
    ],
)
def test_bad_options_name_the_field(name: str, options: dict[str, object], pattern: str) -> None:
    with pytest.raises(methods.MethodParamError, match=pattern) as info:
        methods.create(name, n_tasks=3, field="methods[0]", **options)
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ValueError)


def test_missing_required_option() -> None:
    with pytest.raises(ConfigError, match=r"Method `gradsim` needs option\(s\) `methods\[2\]\.main_task`"):
        methods.create("gradsim", n_tasks=2, field="methods[2]")


def test_bad_option_without_field_prefix_names_the_option() -> None:
    with pytest.raises(methods.MethodParamError, match=r"^`alpha` should be"):
        methods.GradNorm(n_tasks=2, alpha=-1.0)


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        methods.CAGrad(2, 0.4)  # type: ignore[misc]


@pytest.mark.parametrize("name", ALL)
def test_repr_gives_back_the_constructor_arguments(name: str) -> None:
    method = build(name, 3)
    rebuilt = methods.create(name, n_tasks=3, **method.hparams())
    assert repr(rebuilt) == repr(method)
    assert repr(method).startswith(type(method).__name__ + "(n_tasks=3")
    assert set(method.hparams()) == set(methods.options(name))
    assert set(REQUIRED_OPTIONS.get(name, {})) <= set(method.hparams())


def test_register_refuses_non_methods_and_warns_on_overwrite() -> None:
    with pytest.raises(TypeError, match="expects a Method subclass"):
        methods.register("not_a_method")(dict)  # type: ignore[arg-type]

    @methods.register("_test_tmp")
    class Tmp(methods.EqualWeighting):
        """A temporary method."""

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            methods.register("_test_tmp")(methods.EqualWeighting)
        assert any("overwriting" in str(w.message) for w in caught)
        assert methods.available_methods()["_test_tmp"] == "Equal loss weights 1/m: the baseline every method paper compares with."
    finally:
        from paretosweep.methods._registry import _REGISTRY

        _REGISTRY.pop("_test_tmp", None)
    assert Tmp.__doc__
