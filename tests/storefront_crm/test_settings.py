"""Production settings refuse to start without a secret and pass ``check --deploy``."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"SECRET_KEY", "DJANGO_ENV", "DEBUG", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    environment.update(env, STOREFRONT_BOOTSTRAP="0")
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", DJANGO_ENV="production")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_settings_pass_check_deploy():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY="x" * 20 + "a-real-looking-secret-key-for-the-deploy-check-0123456789",
        ALLOWED_HOSTS="crm.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_zero_setup_default_is_sqlite_with_eager_tasks_and_file_email():
    from storefront_crm import settings as configured  # the module, not pytest's overrides

    if os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL"):
        assert configured.DATABASES["default"]["ENGINE"].endswith("postgresql")
        return
    assert configured.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert configured.CELERY_TASK_ALWAYS_EAGER is True
    assert configured.EMAIL_BACKEND.endswith("filebased.EmailBackend")
