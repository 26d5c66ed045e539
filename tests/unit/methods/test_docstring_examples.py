"""Every method module's docstring examples run and print what they claim."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import paretosweep.methods

MODULES = sorted(info.name for info in pkgutil.iter_modules(paretosweep.methods.__path__, "paretosweep.methods."))


def test_the_method_modules_are_found() -> None:
    assert {"paretosweep.methods._dualcone", "paretosweep.methods._famo", "paretosweep.methods._unitary"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
