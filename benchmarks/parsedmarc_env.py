"""parsedmarc, the baseline of the parse and ingest benchmarks, in a virtual env of its own.

Installed once from the package registry, at the versions pinned in `requirements/parsedmarc.txt`
(`uv pip compile requirements/parsedmarc.in`), into the gitignored `.benchmarks-data/parsedmarc-venv`:
never into the project's env (its dependencies are not ours). Run offline (`--offline`: no DNS, no
geolocation lookups), silent, writing its JSON output to a folder, as a user would run it on a folder
of reports:

    from benchmarks.parsedmarc_env import parsedmarc_command
    command = parsedmarc_command() + ["-o", str(out), str(path)]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO / "requirements" / "parsedmarc.txt"
VENV = REPO / ".benchmarks-data" / "parsedmarc-venv"
UV = REPO / ".venv" / "bin" / "uv"
PYTHON = REPO / ".venv" / "bin" / "python"


def _installed_marker() -> Path:
    return VENV / ".installed"


def ensure_parsedmarc() -> Path:
    """The parsedmarc executable, installing it first if the env is missing or its pins changed."""
    marker = _installed_marker()
    pins = REQUIREMENTS.read_text()
    if not marker.is_file() or marker.read_text() != pins:
        print(f"installing parsedmarc ({REQUIREMENTS.name}) into {VENV} ...", file=sys.stderr)
        subprocess.run(
            [str(UV), "venv", "--quiet", "--allow-existing", "-p", str(PYTHON), str(VENV)], check=True
        )
        subprocess.run(
            [
                str(UV),
                "pip",
                "install",
                "--quiet",
                "--compile-bytecode",
                "--python",
                str(VENV / "bin" / "python"),
                "-r",
                str(REQUIREMENTS),
            ],
            check=True,
        )
        marker.write_text(pins)
    return VENV / "bin" / "parsedmarc"


def parsedmarc_command() -> list[str]:
    """parsedmarc offline and silent; append `-o OUTDIR` and the paths to read."""
    return [str(ensure_parsedmarc()), "--offline", "--silent"]


if __name__ == "__main__":
    print(" ".join(parsedmarc_command()))
