"""Run one benchmark module: ``python -m bench seed --customers 1000000``."""

import importlib
import os
import pkgutil
import sys
from pathlib import Path

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/storefront_bench"


def available() -> list[str]:
    modules = pkgutil.iter_modules([str(Path(__file__).parent)])
    return sorted(m.name for m in modules if not m.name.startswith("_"))


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in {"-h", "--help", "--list"}:
        print("usage: python -m bench NAME [options]\nbenchmarks: " + ", ".join(available()))
        return
    name = sys.argv[1]
    if name not in available():
        sys.exit(f"Unknown benchmark {name!r}; known: {', '.join(available())}")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront_crm.settings")
    import django

    django.setup()
    module = importlib.import_module(f"bench.{name}")
    module.main(sys.argv[2:])


if __name__ == "__main__":
    main()
