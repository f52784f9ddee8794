"""``manage.py test`` runs the pytest suite (Django's documented custom-runner hook)."""

import sys
from typing import Any


class PytestRunner:
    def __init__(
        self, verbosity: int = 1, failfast: bool = False, keepdb: bool = False, **kwargs: Any
    ) -> None:
        self.verbosity = verbosity
        self.failfast = failfast
        self.keepdb = keepdb

    @classmethod
    def add_arguments(cls, parser: Any) -> None:
        parser.add_argument("--keepdb", action="store_true", help="reuse the test database")
        parser.add_argument("-k", dest="keyword", help="only tests matching this expression")
        parser.add_argument("-m", dest="markexpr", help="only tests with these marks")

    def run_tests(self, test_labels: list[str], **kwargs: Any) -> int:
        import pytest

        argv = ["-p", "no:cacheprovider"]
        if self.verbosity == 0:
            argv.append("-q")
        elif self.verbosity > 1:
            argv.append("-v")
        if self.failfast:
            argv.append("--exitfirst")
        if self.keepdb:
            argv.append("--reuse-db")
        for option, flag in (("keyword", "-k"), ("markexpr", "-m")):
            if kwargs.get(option):
                argv += [flag, kwargs[option]]
        argv += list(test_labels)
        code = pytest.main(argv)
        sys.stdout.flush()
        return int(code)
