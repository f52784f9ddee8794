import os

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
