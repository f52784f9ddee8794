"""Browser fixtures (browser, page, sign_in) live in tests/conftest.py, shared by every
folder: Playwright's sync API allows one instance per process."""
