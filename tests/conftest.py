import os
import shutil

import pytest
from django_scopes import scopes_disabled

from storefront_crm.tenancy import store_scope

from .factories import PASSWORD, MembershipFactory, StoreFactory, UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server + Playwright


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Tasks run in-process in tests; tests/storefront_crm/test_celery_worker.py runs a real
    worker against Redis when REDIS_URL is set."""
    from storefront_crm.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture(autouse=True)
def _caches_cleared():
    """Every test starts with empty caches: ids repeat between tests on SQLite, so a key an
    earlier test left (a throttle, a cached menu) could otherwise meet a new row."""
    from django.conf import settings
    from django.core.cache import caches

    for alias in settings.CACHES:
        caches[alias].clear()


@pytest.fixture(autouse=True)
def _english_by_default():
    """Requests activate the language they ask for and leave it active in this thread; every
    test starts in English whatever an earlier test's request chose."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def unscoped():
    """Cross-store access for test setup and assertions."""
    with scopes_disabled():
        yield


@pytest.fixture
def store(db):
    store = StoreFactory(slug="alpha", name="Alpha Shop")
    with store_scope(store):
        yield store


@pytest.fixture
def other_store(db):
    return StoreFactory(slug="beta", name="Beta Shop")


@pytest.fixture
def owner(store):
    return MembershipFactory(store=store, role="owner").user


@pytest.fixture
def manager(store):
    return MembershipFactory(store=store, role="manager").user


@pytest.fixture
def support(store):
    return MembershipFactory(store=store, role="support").user


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def user_factory():
    return UserFactory


# --- Browser tests: Playwright on Debian's chromium (never ``playwright install``) ---


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Reports every Content-Security-Policy violation of every page the context opens to the
# test (navigations included), with what was refused and where.
CSP_VIOLATION_WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation(
    `${event.violatedDirective} refused ${event.blockedURI || "inline code"} ` +
    `at ${event.sourceFile || event.documentURI}:${event.lineNumber} (${event.sample || ""})`
  );
});
"""


def watch_csp_violations(context) -> list[str]:
    """Collects every Content-Security-Policy violation of the pages of ``context``."""
    violations: list[str] = []
    context.expose_function("__cspViolation", lambda report: violations.append(report))
    context.add_init_script(CSP_VIOLATION_WATCH)

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"console: {message.text}")

    context.on("console", on_console)
    return violations


@pytest.fixture
def page(browser):
    """A fresh page whose test fails on any Content-Security-Policy violation: every
    browser test gets the watch, since every one drives the browser through this page."""
    context = browser.new_context(locale="en-GB")
    violations = watch_csp_violations(context)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations))


@pytest.fixture
def sign_in(page, live_server):
    """Sign a staff user in through the real login form; returns the base URL."""

    def sign_in_as(email: str, password: str) -> str:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        return live_server.url

    return sign_in_as
