from typing import Any

from django.http import HttpRequest

from .tenancy import can, stores_of


def panel(request: HttpRequest) -> dict[str, Any]:
    store = getattr(request, "store", None)
    if store is None:
        return {}
    return {
        "store": store,
        "membership": request.membership,
        "my_stores": stores_of(request.user),
        "perms_panel": _PermissionChecker(request),
    }


class _PermissionChecker:
    """``{% if perms_panel.customers__export %}`` in templates, for showing buttons only;
    the views enforce every permission themselves."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    def __getattr__(self, name: str) -> bool:
        return can(self._request, name.replace("__", "."))
