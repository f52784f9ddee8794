import pytest
from django.urls import reverse

from tests.factories import CustomerFactory


@pytest.mark.django_db
def test_panel_pages_render_for_the_owner(owner_client, store):
    customer = CustomerFactory(store=store)
    for url in [
        reverse("panel:dashboard", args=[store.slug]),
        reverse("panel:customers", args=[store.slug]),
        reverse("panel:customer", args=[store.slug, customer.pk]),
        reverse("panel:orders", args=[store.slug]),
        reverse("panel:settings", args=[store.slug]),
        reverse("panel:staff", args=[store.slug]),
        reverse("panel:jobs", args=[store.slug]),
    ]:
        response = owner_client.get(url)
        assert response.status_code == 200, url
