"""README's example runs, and README gives the two commands that .ci/run executes."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "README has no python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert capsys.readouterr().out.strip()


def test_readme_starts_with_the_two_commands_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    for marker in ("# build the book", "# run every test"):
        lines = README.splitlines()
        idx = next(i for i, line in enumerate(lines) if line.startswith(marker))
        command = lines[idx + 1]
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install")
        assert marker in ci
    book = lines[next(i for i, line in enumerate(lines) if line.startswith("# build the book")) + 1]
    assert "--all -W -n --keep-going" in book
