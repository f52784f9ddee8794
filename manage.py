#!/usr/bin/env python3
"""Django's command-line utility, which also sets up its own virtual environment.

Run with any Python 3.11+: on first use it creates `.venv/`, installs the locked
dependencies (requirements.lock, made from pyproject.toml by `manage.py lock`) into it and
re-runs itself there, so a fresh clone needs
nothing but Python. Inside an activated virtual environment, or with
STOREFRONT_BOOTSTRAP=0 (the Docker image), it runs as plain `manage.py`.
"""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".storefront-installed"
# Every package at an exact version with its hashes, written by `manage.py lock` from
# pyproject.toml: the development and CI set, and the production image's set (no dev tools).
LOCK = ROOT / "requirements.lock"
LOCK_PRODUCTION = ROOT / "requirements-production.lock"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;]+)")


def _requirements_digest() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + LOCK.read_bytes()).hexdigest()


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines: list[str]) -> dict[str, str]:
    return {_name(m[1]): m[2] for line in lines if (m := PIN.match(line.strip()))}


def _lock_mismatches() -> list[str]:
    """The pins of pyproject.toml that the lock does not hold at the same version."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = _pins([*project["project"]["dependencies"], *project["dependency-groups"]["dev"]])
    locked = _pins(LOCK.read_text().splitlines()) if LOCK.exists() else {}
    return [f"{name}=={version}" for name, version in wanted.items() if locked.get(name) != version]


def _uv(*args: str) -> None:
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(VENV), "VIRTUAL_ENV": str(VENV)}
    subprocess.run([str(VENV_PYTHON), "-m", "uv", *args], check=True, cwd=ROOT, env=env)


def _venv_with_uv() -> None:
    if not VENV_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "uv"], check=True)


def _lock_write(upgrade: bool) -> None:
    """Resolve pyproject.toml again and write both lock files (uv.lock itself stays out of
    the repository: it names the package index's hosts; the exports hold only names,
    versions and hashes)."""
    _venv_with_uv()
    _uv("lock", "--quiet", *(["--upgrade"] if upgrade else []))
    export = ["export", "--quiet", "--frozen", "--no-emit-project"]
    _uv(*export, "--all-groups", "--output-file", LOCK.name)
    _uv(*export, "--no-dev", "--output-file", LOCK_PRODUCTION.name)


def _bootstrap() -> None:
    in_some_venv = sys.prefix != sys.base_prefix
    if os.environ.get("STOREFRONT_BOOTSTRAP") == "0" or in_some_venv and sys.prefix != str(VENV):
        return
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before any venv exists
        sys.exit("Storefront CRM needs Python 3.11 or newer.")
    if sys.argv[1:2] == ["lock"]:
        _lock_write(upgrade="--upgrade" in sys.argv[2:])
        print(f"Wrote {LOCK.name} and {LOCK_PRODUCTION.name}; commit them with pyproject.toml.")
        sys.exit(0)
    mismatches = _lock_mismatches()
    if mismatches:
        sys.exit(
            f"{LOCK.name} does not match pyproject.toml ({', '.join(mismatches)}): run"
            " `python3 manage.py lock` and commit the lock files."
        )
    digest = _requirements_digest()
    if not (STAMP.exists() and STAMP.read_text() == digest):
        print("Setting up .venv with the locked dependencies (first run only)…", flush=True)
        _venv_with_uv()
        _uv(
            "pip",
            "install",
            "--quiet",
            "--require-hashes",
            "--python",
            str(VENV_PYTHON),
            "--requirement",
            str(LOCK),
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
