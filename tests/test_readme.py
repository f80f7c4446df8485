"""The README's one test command is the one CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up and test", 1)[1].split("\n## ", 1)[0]
    (command,) = re.findall(r"```bash\n(.+?)\n```", section)
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith(("#", "set ", "cd "))]
    assert ci_lines[-1] == command
    # Before it, only the installation of the browser that the report test opens.
    before = ci_lines[:-1]
    assert not before or (before[0].startswith("if ! command -v chromium") and before[-1] == "fi")
    assert command.startswith("python3 -m venv .venv && ") and "pytest" in command
