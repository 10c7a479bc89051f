"""The README's commands run as written, on a fresh SQLite database (issue 12, item 14).

Every ``sh`` block of the README runs in one shell, in order, where ``make run`` leaves a
reader (its own commands, read from the Makefile): the convention and the liberties taken
(a free port for 8000, ``arpolicy worker`` in the background as beside ``serve``) are those
of tests/test_docs_commands.py, in tests/fixtures/doc_shell.py. The blocks that cannot run
here (``make run`` itself, the production commands) say so with ``<!-- not run: ... -->``.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.fixtures.doc_blocks import ROOT
from tests.fixtures.doc_shell import make_run_state, run_document


@pytest.mark.skipif(shutil.which("curl") is None and not os.environ.get("CI"), reason="no curl")
def test_the_readme_commands_run_as_written(tmp_path):
    (tmp_path / "make-run").mkdir()
    run = run_document(ROOT / "README.md", tmp_path, make_run_state(tmp_path / "make-run"))
    if run.problems:
        pytest.fail("\n\n".join(run.problems), pytrace=False)

    reader = tmp_path / "reader"
    api = run.outputs[1]
    customers, end = json.JSONDecoder().raw_decode(api, api.index('{"items"'))
    ageing, _ = json.JSONDecoder().raw_decode(api, end)
    assert len(customers["items"]) == 2 and "status" not in ageing
    assert (reader / "ageing.csv").read_text(encoding="utf-8").count("\n") > 2
    exported = (reader / "customers.csv").read_text(encoding="utf-8").splitlines()
    assert len(exported) == 1 + 4 and exported[0].startswith("external_id,")
    assert "Acme Europe GmbH" in run.outputs[-1]
    assert list((reader / "var" / "mail" / "new").iterdir()), "the worker sent no email"
