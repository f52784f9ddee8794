import time
from typing import Any

from django.http import HttpRequest

from .tenancy import can, stores_of

# The store switcher's list is kept in the session for a few minutes instead of being read
# on every panel page (a second membership query beside the middleware's). Only display
# depends on it: the middleware checks the membership of every request, so a store the
# user just lost stays listed at most this long and then answers 404.
SWITCHER_SESSION_KEY = "panel_switcher"
SWITCHER_MAX_AGE = 300  # seconds
# The menu's entries below a section (the path after the store's): one of them is current.
MENU_PAGES = (
    "customers/new",
    "customers/duplicates",
    "customers/groups",
    "customers/tags",
    "customers/fields",
    "customers/transfer",
    "customers/activity",
)


def panel(request: HttpRequest) -> dict[str, Any]:
    store = getattr(request, "store", None)
    if store is None:
        return {}
    page = request.path_info.removeprefix(f"/store/{store.slug}/")
    return {
        "store": store,
        "membership": request.membership,
        "my_stores": _switcher_stores(request),
        # Which main menu entry is current, and which entry under it.
        "panel_section": page.split("/", 1)[0],
        "panel_page": next((entry for entry in MENU_PAGES if page.startswith(f"{entry}/")), ""),
        "perms_panel": _PermissionChecker(request),
    }


def _switcher_stores(request: HttpRequest) -> list[list[str]]:
    """``[slug, name]`` of each of the user's stores, by name."""
    cached = request.session.get(SWITCHER_SESSION_KEY)
    if (
        isinstance(cached, dict)
        and cached.get("user") == request.user.pk
        and time.time() - cached.get("at", 0) < SWITCHER_MAX_AGE
        # a store joined since is opened right away: its own page refreshes the list
        and any(slug == request.store.slug for slug, _name in cached.get("stores", []))
    ):
        return cached["stores"]
    stores = [[m.store.slug, m.store.name] for m in stores_of(request.user)]
    request.session[SWITCHER_SESSION_KEY] = {
        "user": request.user.pk,
        "at": time.time(),
        "stores": stores,
    }
    return stores


class _PermissionChecker:
    """``{% if perms_panel.customers__export %}`` in templates, for showing buttons only;
    the views enforce every permission themselves."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    def __getattr__(self, name: str) -> bool:
        return can(self._request, name.replace("__", "."))
