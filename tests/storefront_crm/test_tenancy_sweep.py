"""Every panel URL, walked with the ids of another store's rows, must answer 404.

New URL patterns are covered automatically: the sweep reads the URLconf. A new kind of
id in a URL needs a store-owned model the kwarg name points to (``<model>_id``) and a
factory in tests/factories.py; the test says so when one is missing.
"""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from tests.panel_urls import (
    SAMPLE_VALUES,
    factory_for,
    model_for_kwarg,
    panel_patterns,
    store_owned_models,
    url_params,
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
    rows = {}
    with scopes_disabled():
        for model in store_owned_models():
            factory = factory_for(model)
            if factory is not None:
                rows[model] = factory(store=other_store)
    return rows


def answers(client, url: str) -> dict[str, int]:
    return {"GET": client.get(url).status_code, "POST": client.post(url).status_code}


def assert_not_found(url: str, result: dict[str, int]) -> None:
    # 405 (method not allowed) reveals nothing; every other answer must be 404.
    assert all(code in (404, 405) for code in result.values()), (url, result)
    assert 404 in result.values(), (url, result)


@pytest.mark.django_db
def test_panel_urls_with_another_stores_ids_are_404(owner_client, store, other_store, foreign_rows):
    swept = 0
    for name, _pattern in panel_patterns():
        params = url_params(name)
        id_params = [p for p in params if p not in SAMPLE_VALUES]
        if not id_params:
            continue
        kwargs = {"store_slug": store.slug}
        for param in params:
            if param in SAMPLE_VALUES:
                kwargs[param] = SAMPLE_VALUES[param]
            else:
                kwargs[param] = foreign_rows[model_for_kwarg(param)].pk
        url = reverse(name, kwargs=kwargs)
        assert_not_found(url, answers(owner_client, url))
        swept += 1
    assert swept >= 3


@pytest.mark.django_db
def test_every_panel_url_of_a_store_you_are_not_a_member_of_is_404(
    owner_client, other_store, foreign_rows
):
    for name, _pattern in panel_patterns():
        kwargs = {"store_slug": other_store.slug}
        for param in url_params(name):
            kwargs[param] = (
                SAMPLE_VALUES[param]
                if param in SAMPLE_VALUES
                else foreign_rows[model_for_kwarg(param)].pk
            )
        url = reverse(name, kwargs=kwargs)
        assert_not_found(url, answers(owner_client, url))


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client, store):
    response = client.get(reverse("panel:customers", args=[store.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
