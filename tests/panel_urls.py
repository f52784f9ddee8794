"""The panel's URLs read from the URLconf, and the store-owned rows their ids name: what
the sweeps over every panel URL share (tenancy, accessibility)."""

import inspect
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import factory
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


def rows_of_every_model(store: Store) -> dict[type, Any]:
    """One row of every store-owned model (that has a factory), all in ``store``."""
    rows = {}
    with scopes_disabled():
        for model in store_owned_models():
            model_factory = factory_for(model)
            if model_factory is not None:
                rows[model] = model_factory(store=store)
    return rows


def panel_urls(store_slug: str, rows: dict[type, Any]) -> Iterator[tuple[str, str, bool]]:
    """(pattern name, URL, whether it names a row) of every panel pattern, for the store
    ``store_slug``, each id taken from ``rows`` (``rows_of_every_model``)."""
    for name, _pattern in panel_patterns():
        kwargs: dict[str, Any] = {"store_slug": store_slug}
        names_a_row = False
        for param in url_params(name):
            if param in SAMPLE_VALUES:
                kwargs[param] = SAMPLE_VALUES[param]
            else:
                kwargs[param] = rows[model_for_kwarg(param)].pk
                names_a_row = True
        yield name, reverse(name, kwargs=kwargs), names_a_row


def panel_url(name: str, store: Store, *args: Any) -> str:
    """``/store/<slug>/…`` of the panel pattern ``name`` with positional ``args``."""
    return reverse(f"panel:{name}", args=[store.slug, *args])


def customer_list_url(store: Store, **params: Any) -> str:
    """The customer list of ``store`` with ``params`` as its query string."""
    url = reverse("panel:customers", kwargs={"store_slug": store.slug})
    return url + ("?" + urlencode(params, doseq=True) if params else "")
