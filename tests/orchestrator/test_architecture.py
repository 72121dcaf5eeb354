"""The layout's import rules hold (tests/architecture.py): no import cycles, nothing imports up the chain."""

import sys
import textwrap

import grimp
import pytest

from tests import architecture


@pytest.fixture(scope="module")
def graph():
    return architecture.build_graph()


def test_the_project_has_no_import_cycles(graph):
    assert architecture.import_cycles(graph) == []


def test_no_module_imports_up_the_layers(graph):
    assert architecture.back_arrows(graph) == []


def test_the_checker_finds_a_cycle_through_a_lazy_import(tmp_path, monkeypatch):
    package = tmp_path / "loopy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from loopy import b\n")
    (package / "b.py").write_text(textwrap.dedent("def f():\n    from loopy import c\n"))
    (package / "c.py").write_text("import loopy.a\n")
    (package / "d.py").write_text("import loopy.a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        found = architecture.import_cycles(grimp.build_graph("loopy"))
    finally:
        sys.modules.pop("loopy", None)
    assert found == [["loopy.a", "loopy.b", "loopy.c"]]
