"""Every panel URL, walked with the ids of another store's rows, must answer 404.

New URL patterns are covered automatically: the sweep reads the URLconf. A new kind of
id in a URL needs a store-owned model the kwarg name points to (``<model>_id``) and a
factory in tests/factories.py; the test says so when one is missing.
"""

import pytest
from django.urls import reverse

from tests.panel_urls import (
    factory_for,
    panel_patterns,
    panel_urls,
    rows_of_every_model,
    store_owned_models,
)


def test_every_store_owned_model_has_a_factory():
    missing = [m.__name__ for m in store_owned_models() if factory_for(m) is None]
    assert not missing, f"Add factories to tests/factories.py for: {missing}"


def test_every_panel_view_declares_its_permission():
    undeclared = [
        name
        for name, pattern in panel_patterns()
        if not hasattr(pattern.callback, "required_permission")
        and not hasattr(getattr(pattern.callback, "view_class", None), "required_permission")
    ]
    assert not undeclared, f"Panel views without @permission_required: {undeclared}"


@pytest.fixture
def foreign_rows(other_store):
    """One row of every store-owned model, all in the other store."""
    return rows_of_every_model(other_store)


def answers(client, url: str) -> dict[str, int]:
    return {"GET": client.get(url).status_code, "POST": client.post(url).status_code}


def assert_not_found(url: str, result: dict[str, int]) -> None:
    # 405 (method not allowed) reveals nothing; every other answer must be 404.
    assert all(code in (404, 405) for code in result.values()), (url, result)
    assert 404 in result.values(), (url, result)


@pytest.mark.django_db
def test_panel_urls_with_another_stores_ids_are_404(owner_client, store, other_store, foreign_rows):
    swept = 0
    for _name, url, names_a_row in panel_urls(store.slug, foreign_rows):
        if names_a_row:
            assert_not_found(url, answers(owner_client, url))
            swept += 1
    assert swept >= 3


@pytest.mark.django_db
def test_every_panel_url_of_a_store_you_are_not_a_member_of_is_404(
    owner_client, other_store, foreign_rows
):
    for _name, url, _names_a_row in panel_urls(other_store.slug, foreign_rows):
        assert_not_found(url, answers(owner_client, url))


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client, store):
    response = client.get(reverse("panel:customers", args=[store.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
