#!/usr/bin/env python3
"""Django's command-line utility, which also sets up its own virtual environment.

Run with any Python 3.11+: on first use it creates `.venv/`, installs the pinned
dependencies from pyproject.toml into it and re-runs itself there, so a fresh clone needs
nothing but Python. Inside an activated virtual environment, or with
STOREFRONT_BOOTSTRAP=0 (the Docker image), it runs as plain `manage.py`.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".storefront-installed"


def _requirements_digest() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def _bootstrap() -> None:
    in_some_venv = sys.prefix != sys.base_prefix
    if os.environ.get("STOREFRONT_BOOTSTRAP") == "0" or in_some_venv and sys.prefix != str(VENV):
        return
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before any venv exists
        sys.exit("Storefront CRM needs Python 3.11 or newer.")
    digest = _requirements_digest()
    if not (STAMP.exists() and STAMP.read_text() == digest):
        print("Setting up .venv with the pinned dependencies (first run only)…", flush=True)
        if not VENV_PYTHON.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "uv"], check=True)
        env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(VENV), "VIRTUAL_ENV": str(VENV)}
        subprocess.run(
            [str(VENV_PYTHON), "-m", "uv", "sync", "--quiet", "--inexact"],
            check=True,
            cwd=ROOT,
            env=env,
        )
        STAMP.write_text(digest)
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(ROOT / "manage.py"), *sys.argv[1:]])


def main() -> None:
    _bootstrap()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront_crm.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
