"""Every panel URL, walked with the ids of another store's rows, must answer 404.

New URL patterns are covered automatically: the sweep reads the URLconf. A new kind of
id in a URL needs a store-owned model the kwarg name points to (``<model>_id``) and a
factory in tests/factories.py; the test says so when one is missing.
"""

import inspect

import factory
import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_scopes import scopes_disabled

from storefront_crm.models import Store
from tests import factories

# URL kwargs that are not ids of a row: a value that the pattern accepts.
SAMPLE_VALUES = {"section": "invoices"}
# Id kwargs whose name does not say the model.
KWARG_MODELS: dict[str, str] = {
    "other_id": "customers.Customer",
    "duplicate_id": "customers.Customer",
    "survivor_id": "customers.Customer",
}


def panel_patterns() -> list[tuple[str, URLPattern]]:
    """(namespaced name, pattern) of every named pattern under /store/<store_slug>/."""
    _prefix, panel = get_resolver().namespace_dict["panel"]
    found: list[tuple[str, URLPattern]] = []

    def walk(patterns: list, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(
                    entry.url_patterns,
                    f"{namespace}:{entry.namespace}" if entry.namespace else namespace,
                )
            elif isinstance(entry, URLPattern):
                assert entry.name, f"Unnamed panel URL {entry.pattern}: name it"
                found.append((f"{namespace}:{entry.name}", entry))

    walk(panel.url_patterns, "panel")
    return found


def url_params(name: str) -> list[str]:
    namespace, _, short = name.rpartition(":")
    sub = get_resolver()
    for part in namespace.split(":"):
        sub = sub.namespace_dict[part][1]
    possibilities = sub.reverse_dict.getlist(short)
    assert possibilities, name
    return [p for p in possibilities[0][0][0][1] if p != "store_slug"]


def store_owned_models() -> list[type]:
    return [
        m
        for m in apps.get_models()
        if any(f.name == "store" and f.related_model is Store for f in m._meta.fields)
    ]


def factory_for(model: type):
    for _name, candidate in inspect.getmembers(factories, inspect.isclass):
        if issubclass(candidate, factory.Factory) and candidate._meta.model is model:
            return candidate
    return None


def model_for_kwarg(kwarg: str) -> type:
    if kwarg in KWARG_MODELS:
        return apps.get_model(KWARG_MODELS[kwarg])
    stem = kwarg.removesuffix("_id")
    candidates = [m for m in store_owned_models() if m._meta.model_name == stem]
    candidates = candidates or [
        m for m in store_owned_models() if m._meta.model_name.endswith(stem)
    ]
    assert len(candidates) == 1, (
        f"URL kwarg {kwarg!r}: cannot tell which store-owned model it names "
        f"({[m.__name__ for m in candidates]}); add it to KWARG_MODELS"
    )
    return candidates[0]


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
