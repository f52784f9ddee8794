"""The export box of the order list points at the status filter where it really is."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_export_help_points_down_to_the_status_filter(owner_client, store):
    page = owner_client.get(reverse("panel:orders", args=[store.slug])).content.decode()

    assert "the status chosen in the filter below applies" in page
    assert "filter above" not in page
    # and the filter really comes after the export box
    assert page.index('class="order-export"') < page.index('role="search"')
