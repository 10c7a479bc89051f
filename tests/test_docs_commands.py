"""Every shell command in docs/*.md runs as written (issue 12, item 14).

How a document marks what runs (CONTRIBUTING.md, "Commands in the docs"): ```sh, ```bash
and ```shell blocks run, in order, in one bash session per document; ```console is a
transcript whose ``$ `` lines run and whose other lines must appear in their output
(``...`` for anything); a ```json block right after a run block is its output, whose shape
is checked; every other fence is shown, not run, and ``<!-- not run: REASON -->`` before a
fence keeps it from running. Where the session starts (an empty directory, or the demo
database ``make run`` leaves), the free ports and the commands that run in the background:
tests/fixtures/doc_shell.py. tests/test_readme.py holds the README to the same convention.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.fixtures.doc_blocks import ROOT, units
from tests.fixtures.doc_shell import make_run_state, run_document

DOCS = sorted((ROOT / "docs").glob("*.md"))


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory):
    return make_run_state(tmp_path_factory.mktemp("make-run"))


@pytest.mark.skipif(shutil.which("curl") is None and not os.environ.get("CI"), reason="no curl")
@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_the_commands_of_a_document_run_as_written(doc, tmp_path, request):
    todo, _ = units(doc)
    demo = request.getfixturevalue("demo_db") if todo else None
    run = run_document(doc, tmp_path, demo)
    if run.problems:
        pytest.fail("\n\n".join(run.problems), pytrace=False)


SAMPLE = """# A sample

```sh
echo hello
arpolicy rules --help
arpolicy no-such-command
echo never
```
"""


def test_a_failing_command_is_named_by_document_line_and_output(tmp_path):
    doc = tmp_path / "sample.md"
    doc.write_text(SAMPLE, encoding="utf-8")
    (tmp_path / "make-run.db").touch()
    run = run_document(doc, tmp_path, tmp_path / "make-run.db")
    assert len(run.problems) == 1
    first, *rest = run.problems[0].splitlines()
    assert first == f"{doc}:6: `arpolicy no-such-command` failed (exit status 2)"
    assert "hello" in rest and any(t.startswith("Usage: arpolicy rules") for t in rest), rest
    assert any("No such command 'no-such-command'" in t for t in rest), rest
    assert "never" not in run.problems[0]


CHECKED = """# Output

```console
$ echo "one   two"
one two
$ echo three
four
```

<!-- not run: a sample -->
```sh
false
```

```
arpolicy is a command here
```

```sh
echo '{"a": 1, "b": "x", "l": [1, 2]}'
```
```json
{"a": 1, "c": "...", "l": [1, "..."], "...": "..."}
```
"""


def test_output_shown_in_a_document_is_checked(tmp_path):
    doc = tmp_path / "checked.md"
    doc.write_text(CHECKED, encoding="utf-8")
    (tmp_path / "make-run.db").touch()
    problems = run_document(doc, tmp_path, tmp_path / "make-run.db").problems
    assert [p.splitlines()[0] for p in problems] == [
        f"{doc}:15: a fence without a language holds commands: write ```sh to run them, "
        "```text for a synopsis or output, or put <!-- not run: REASON --> before it",
        f"{doc}:6: the output shown is not what `echo three` printed; missing:",
        f"{doc}:23: the JSON shown is not what the commands at {doc}:20 print:",
    ]
    assert "  four" in problems[1] and "  $: no key 'c'" in problems[2]
