"""The lock file holds every pin of pyproject.toml, and a pin it lacks stops manage.py."""

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage():
    spec = importlib.util.spec_from_file_location("manage_bootstrap", ROOT / "manage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lock_holds_every_pin_of_pyproject():
    assert _manage()._lock_mismatches() == []


def test_the_lock_names_no_host_and_no_path_of_a_machine():
    for name in ("requirements.lock", "requirements-production.lock"):
        text = (ROOT / name).read_text()
        assert "://" not in text and str(ROOT) not in text, name
        assert "--hash=sha256:" in text


def test_a_pin_the_lock_lacks_stops_manage_py(tmp_path):
    for name in ("manage.py", "requirements.lock", "requirements-production.lock"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    pyproject = (ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(
        pyproject.replace('"Django==5.2.19",', '"Django==5.2.19",\n    "left-pad-never==1.0",')
    )
    # Outside any virtual environment, as a newcomer runs it.
    result = subprocess.run(
        [sys.base_prefix + "/bin/python3", str(tmp_path / "manage.py"), "check"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert "left-pad-never==1.0" in result.stderr and "manage.py lock" in result.stderr
