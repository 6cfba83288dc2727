"""The README's two set-up commands stay true: CI runs exactly the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.+?)\n```", text)


def test_readme_opens_with_run_and_test_commands():
    run, test = _commands()[:2]
    assert "python app.py" in run and "pip install" in run
    assert "pytest" in test and "chromium-driver" in test and "fonts-noto-cjk" in test and "apt-get update" in test


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"TEST_COMMAND='{_commands()[1]}'" in ci


def test_readme_screenshot_exists():
    assert (ROOT / "docs" / "screenshots" / "wall-1920x1080.png").stat().st_size > 50_000
