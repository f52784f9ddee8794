"""Storefront pages of the customers area, included at ``shop/<slug:store_slug>/`` under
the ``shop`` namespace (outside the panel: no staff membership involved)."""

from .views.shop import urlpatterns

app_name = "shop"

__all__ = ["app_name", "urlpatterns"]
