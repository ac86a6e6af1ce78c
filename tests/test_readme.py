"""The README tells the truth about how to run tinynet: CI runs its test command word for word."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands():
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_ci_runs_the_readme_test_command():
    tutorial, tests = readme_commands()[:2]
    assert tutorial.endswith("python examples/mnist_dense.py")
    assert tests.endswith("python -m pytest")
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci_lines


def test_the_summary_shown_in_the_readme_is_the_tested_one():
    from test_models import TUTORIAL_SUMMARY

    assert TUTORIAL_SUMMARY in (ROOT / "README.md").read_text()
