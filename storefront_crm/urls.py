from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

# The root URLconf is the composition root: the one place that wires feature apps in.
from orders import views as orders_views
from segments import views as segments_views

from . import views

# The merchant panel: every pattern here lives under /store/<store_slug>/ and runs inside
# that store's scope (tenancy.StoreMiddleware).
panel_patterns = [
    path("", orders_views.dashboard, name="dashboard"),
    path("customers/", include("customers.urls")),
    path("orders/", include("orders.urls")),
    path("settings/", views.store_settings, name="settings"),
    path("settings/staff/", views.staff_list, name="staff"),
    path("settings/staff/<int:membership_id>/remove/", views.staff_remove, name="staff_remove"),
    path("segments/", segments_views.segment_index, name="segments"),
    path("segments/new/", segments_views.segment_create_from_list, name="segment_create"),
    path(
        "segments/<int:segment_id>/delete/",
        segments_views.segment_remove,
        name="segment_delete",
    ),
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/<int:job_id>/", views.job_detail, name="job"),
    path("jobs/<int:job_id>/download/", views.job_download, name="job_download"),
    re_path(
        r"^(?P<section>abandoned-carts|invoices|reports)/$",
        views.coming_later,
        name="section",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz/", views.health, name="health"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("store/<slug:store_slug>/", include((panel_patterns, "panel"))),
    # Storefront pages of one store (shoppers, never staff): outside the panel namespace.
    path("shop/<slug:store_slug>/", include("customers.shop_urls", namespace="shop")),
]
