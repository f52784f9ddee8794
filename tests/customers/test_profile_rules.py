"""Rules of the customer profile: sign-in-as and account actions only for registered
accounts, the confirmation email throttle, checked countries and "customer since", the
edit form's group, who may change a note, the activity log's wording, the tag list."""

import datetime

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation

from customers.countries import COUNTRY_CODES
from customers.models import (
    ActivityEvent,
    Address,
    Customer,
    CustomerGroup,
    CustomerNote,
    CustomFieldType,
    GroupKind,
)
from customers.services.accounts import (
    customer_active_set,
    customer_email_confirm,
    customer_impersonation_start,
    email_confirmation_send,
)
from customers.services.customers import (
    customer_create,
    customer_get_or_create_for_order,
    customer_update,
)
from customers.services.notes import note_delete, note_edit
from customers.views.profile_display import country_display, event_sentence
from storefront_crm.errors import ServiceError
from storefront_crm.formatting import date_format
from storefront_crm.models import User
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    CustomerNoteFactory,
    CustomerTagFactory,
    CustomFieldFactory,
    MembershipFactory,
    OrderFactory,
    TaggedCustomerFactory,
)
from tests.panel_urls import panel_url as url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    """The resend throttle lives in the cache; ids repeat between tests."""
    cache.clear()
    yield
    cache.clear()


def client_as(client, store, role):
    user = MembershipFactory(store=store, role=role).user
    client.force_login(user)
    return user


def profile(client, store, customer):
    response = client.get(url("customer", store, customer.pk))
    assert response.status_code == 200
    return response.content.decode()


def flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- 1. Sign in as this customer ------------------------------------------------------------


def test_a_guest_is_not_offered_sign_in_as_and_gets_no_login(owner_client, store, owner):
    guest = CustomerFactory(store=store, account_type="guest")

    assert url("customer_impersonate", store, guest.pk) not in profile(owner_client, store, guest)

    response = owner_client.post(url("customer_impersonate", store, guest.pk))

    # told in the new tab on its own, not by opening the back office there
    assert response.status_code == 409
    page = response.content.decode()
    assert "has no storefront account" in page and 'id="sidebar"' not in page
    guest.refresh_from_db()
    assert guest.user_id is None and not User.objects.filter(store=store).exists()
    assert not ActivityEvent.objects.filter(verb="customer.impersonated").exists()
    with pytest.raises(ServiceError, match="guest"):
        customer_impersonation_start(store=store, customer=guest, actor=owner)


def test_a_registered_customer_without_a_login_yet_can_be_signed_in_as(owner_client, store):
    customer = CustomerFactory(store=store, account_type="registered")
    assert url("customer_impersonate", store, customer.pk) in profile(owner_client, store, customer)

    response = owner_client.post(url("customer_impersonate", store, customer.pk))

    assert response.status_code == 302
    assert response["Location"].startswith(f"/shop/{store.slug}/login/?sesame=")
    customer.refresh_from_db()
    assert customer.user_id is not None


@pytest.mark.parametrize("flags", [{"is_blocked": True}, {"is_active": False}])
def test_a_blocked_or_deactivated_account_is_not_offered_sign_in_as(
    owner_client, store, owner, flags
):
    customer = CustomerFactory(store=store, account_type="registered", **flags)

    page = profile(owner_client, store, customer)

    assert url("customer_impersonate", store, customer.pk) not in page
    with pytest.raises(ServiceError, match="blocked or deactivated"):
        customer_impersonation_start(store=store, customer=customer, actor=owner)


# --- 2. Account actions for guests, the confirmation email throttle --------------------------


def test_a_guest_profile_offers_no_account_actions(owner_client, store):
    guest = CustomerFactory(store=store, account_type="guest")
    registered = CustomerFactory(store=store, account_type="registered")

    page = profile(owner_client, store, guest)
    for name in ("customer_activate", "customer_email_confirm", "customer_email_resend"):
        assert url(name, store, guest.pk) not in page
    assert url("customer_block", store, guest.pk) in page

    page = profile(owner_client, store, registered)
    for name in ("customer_activate", "customer_email_confirm", "customer_email_resend"):
        assert url(name, store, registered.pk) in page


def test_the_services_refuse_account_actions_on_a_guest(
    store, owner, mailoutbox, django_capture_on_commit_callbacks
):
    guest = CustomerFactory(store=store, account_type="guest")

    with pytest.raises(ServiceError, match="no account to deactivate"):
        customer_active_set(store=store, customer=guest, actor=owner, active=False)
    with pytest.raises(ServiceError, match="no email address to confirm"):
        customer_email_confirm(store=store, customer=guest, actor=owner)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ServiceError, match="no confirmation email is sent to guests"),
    ):
        email_confirmation_send(
            store=store, customer=guest, actor=owner, base_url="http://testserver/"
        )

    guest.refresh_from_db()
    assert guest.is_active and not guest.email_confirmed
    assert mailoutbox == []
    assert not ActivityEvent.objects.filter(customer=guest).exists()
    # a guest deactivated before (an import) can still be activated again
    Customer.objects.filter(pk=guest.pk).update(is_active=False)
    guest.refresh_from_db()
    customer_active_set(store=store, customer=guest, actor=owner, active=True)
    assert guest.is_active


def test_sending_to_a_guest_through_the_view_sends_nothing(
    owner_client, store, mailoutbox, django_capture_on_commit_callbacks
):
    guest = CustomerFactory(store=store, account_type="guest")

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("customer_email_resend", store, guest.pk))

    assert response.status_code == 302 and mailoutbox == []
    assert any("no confirmation email is sent to guests" in text for text in flashed(response))


def test_a_second_confirmation_email_within_a_minute_is_refused(
    owner_client, store, mailoutbox, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(store=store, account_type="registered")

    with django_capture_on_commit_callbacks(execute=True):
        first = owner_client.post(url("customer_email_resend", store, customer.pk))
    with django_capture_on_commit_callbacks(execute=True):
        second = owner_client.post(url("customer_email_resend", store, customer.pk))

    assert len(mailoutbox) == 1
    assert "A confirmation email is on its way." in flashed(first)
    assert any("less than a minute ago" in text for text in flashed(second))
    assert ActivityEvent.objects.filter(verb="email.confirmation_sent").count() == 1

    cache.clear()  # as if the minute had passed
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(url("customer_email_resend", store, customer.pk))
    assert len(mailoutbox) == 2


def test_the_throttle_is_per_customer(store, owner, mailoutbox, django_capture_on_commit_callbacks):
    one = CustomerFactory(store=store, account_type="registered")
    two = CustomerFactory(store=store, account_type="registered")

    with django_capture_on_commit_callbacks(execute=True):
        for customer in (one, two):
            email_confirmation_send(
                store=store, customer=customer, actor=owner, base_url="http://testserver/"
            )

    assert len(mailoutbox) == 2


# --- 3. Countries -----------------------------------------------------------------------------


def edit_data(customer, **changes):
    data = {
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "account_type": customer.account_type,
        "group": customer.group_id,
        "country": customer.country,
        "customer_since": timezone.localtime(customer.customer_since).date().isoformat(),
    }
    data.update(changes)
    return data


def test_an_unknown_country_is_a_field_error_on_add_and_edit(owner_client, store):
    response = owner_client.post(
        url("customer_create", store),
        {"email": "new@example.org", "account_type": "guest", "country": "zz"},
    )
    assert response.status_code == 400
    assert "not a country code" in response.context["form"].errors["country"][0]
    assert not Customer.objects.filter(email="new@example.org").exists()

    customer = CustomerFactory(store=store, country="DE")
    response = owner_client.post(
        url("customer_edit", store, customer.pk), edit_data(customer, country="zz")
    )
    assert response.status_code == 400
    assert "country" in response.context["form"].errors
    customer.refresh_from_db()
    assert customer.country == "DE"

    response = owner_client.post(
        url("customer_edit", store, customer.pk), edit_data(customer, country="ch")
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.country == "CH"


def test_the_services_check_the_country(store):
    with pytest.raises(ServiceError, match="“ZZ” is not a country code") as error:
        customer_create(store=store, email="a@example.org", country="zz")
    assert error.value.field == "country"
    customer = customer_create(store=store, email="b@example.org", country="")
    with pytest.raises(ServiceError):
        customer_update(store=store, customer=customer, country="XX")
    # an order is recorded whatever its country says; the profile just gets none
    from_order = customer_get_or_create_for_order(
        store=store, email="c@example.org", defaults={"country": "zz"}
    )
    assert from_order.country == ""


def test_an_address_with_an_unknown_country_is_refused(owner_client, store):
    customer = CustomerFactory(store=store)

    response = owner_client.post(
        url("address_create", store, customer.pk),
        {"kind": "shipping", "line1": "Hauptstr. 1", "city": "Berlin", "country": "zz"},
    )

    assert response.status_code == 400
    assert "country" in response.context["form"].errors
    assert not Address.objects.exists()


def test_the_profile_shows_the_countrys_name_with_its_code(owner_client, store):
    customer = CustomerFactory(store=store, country="CH")
    AddressFactory(store=store, customer=customer, country="AT")

    page = profile(owner_client, store, customer)

    assert "<dd>Switzerland (CH)</dd>" in page
    assert "Austria (AT)<br>" in page


def test_every_country_code_has_a_readable_name():
    for code in COUNTRY_CODES:
        shown = country_display(code)
        assert shown.endswith(f" ({code})") and shown[0].isupper(), shown
    assert [country_display(code) for code in ("DE", "AT", "GB", "US", "IT", "NL", "CI", "BA")] == [
        "Germany (DE)",
        "Austria (AT)",
        "United Kingdom (GB)",
        "United States of America (US)",  # django-countries' name
        "Italy (IT)",
        "Netherlands (NL)",
        "Côte d'Ivoire (CI)",
        "Bosnia and Herzegovina (BA)",
    ]
    assert country_display("") == "" and country_display("ZZ") == "ZZ"  # stored before checks


# --- 4. Customer since ---------------------------------------------------------------------


def test_customer_since_cannot_be_in_the_future(owner_client, store):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()

    response = owner_client.post(
        url("customer_create", store),
        {"email": "new@example.org", "account_type": "guest", "customer_since": tomorrow},
    )
    assert response.status_code == 400
    assert "future" in response.context["form"].errors["customer_since"][0]

    customer = CustomerFactory(store=store)
    before = customer.customer_since
    response = owner_client.post(
        url("customer_edit", store, customer.pk), edit_data(customer, customer_since=tomorrow)
    )
    assert response.status_code == 400
    assert "customer_since" in response.context["form"].errors
    customer.refresh_from_db()
    assert customer.customer_since == before


def test_today_is_a_valid_customer_since_at_any_hour(owner_client, store):
    today = timezone.localdate().isoformat()

    response = owner_client.post(
        url("customer_create", store),
        {"email": "new@example.org", "account_type": "guest", "customer_since": today},
    )

    assert response.status_code == 302
    customer = Customer.objects.get(email="new@example.org")
    assert timezone.localtime(customer.customer_since).date().isoformat() == today
    assert customer.customer_since <= timezone.now()


def test_clearing_customer_since_on_edit_is_a_field_error(owner_client, store):
    customer = CustomerFactory(store=store)
    before = customer.customer_since

    response = owner_client.post(
        url("customer_edit", store, customer.pk), edit_data(customer, customer_since="")
    )

    assert response.status_code == 400
    assert response.context["form"].errors["customer_since"] == ["This field is required."]
    customer.refresh_from_db()
    assert customer.customer_since == before


def test_the_service_refuses_a_future_or_missing_customer_since(store):
    customer = CustomerFactory(store=store)

    with pytest.raises(ServiceError, match="future"):
        customer_update(
            store=store,
            customer=customer,
            customer_since=timezone.now() + datetime.timedelta(hours=1),
        )
    with pytest.raises(ServiceError, match="required"):
        customer_update(store=store, customer=customer, customer_since=None)
    # a clock a little ahead is not the future
    customer_update(
        store=store,
        customer=customer,
        customer_since=timezone.now() + datetime.timedelta(minutes=1),
    )


# --- 5. The edit form's group ----------------------------------------------------------------


def test_an_empty_group_on_edit_means_the_default_group_of_the_account(owner_client, store):
    vip = CustomerGroup.objects.create(store=store, name="VIP", kind=GroupKind.CUSTOM)
    customer = CustomerFactory(store=store, account_type="guest", group=vip)

    response = owner_client.post(
        url("customer_edit", store, customer.pk),
        edit_data(customer, group="", account_type="registered"),
    )

    assert response.status_code == 302, response.context["form"].errors
    customer.refresh_from_db()
    assert customer.group.kind == GroupKind.STANDARD


def test_the_group_help_text_names_the_stores_default_groups(owner_client, store):
    CustomerGroup.objects.filter(store=store, kind=GroupKind.GUESTS).update(name="Walk-ins")
    CustomerGroup.objects.filter(store=store, kind=GroupKind.STANDARD).update(name="Members")
    customer = CustomerFactory(store=store)

    for page in (
        owner_client.get(url("customer_create", store)),
        owner_client.get(url("customer_edit", store, customer.pk)),
    ):
        text = page.content.decode()
        assert "“Walk-ins” for guests, “Members” for registered accounts" in text
        assert "Guests or Standard" not in text
        assert not page.context["form"].fields["group"].required


# --- 6. Notes --------------------------------------------------------------------------------


def test_support_cannot_change_someone_elses_note(client, store):
    author = MembershipFactory(store=store, role="support").user
    customer = CustomerFactory(store=store)
    note = CustomerNoteFactory(store=store, customer=customer, author=author, body="Original")
    client_as(client, store, "support")

    page = profile(client, store, customer)
    assert url("note_edit", store, customer.pk, note.pk) not in page
    assert url("note_delete", store, customer.pk, note.pk) not in page

    edited = client.post(url("note_edit", store, customer.pk, note.pk), {"body": "Forged"})
    deleted = client.post(url("note_delete", store, customer.pk, note.pk))

    note.refresh_from_db()
    assert note.body == "Original" and note.edited_at is None
    assert any("Only the note's author" in text for text in flashed(edited))
    assert any("Only the note's author" in text for text in flashed(deleted))
    assert not ActivityEvent.objects.filter(verb__in=["note.edited", "note.deleted"]).exists()


def test_the_author_and_owners_and_managers_can_change_a_note(client, store):
    author = MembershipFactory(store=store, role="support").user
    customer = CustomerFactory(store=store)
    note = CustomerNoteFactory(store=store, customer=customer, author=author)
    client.force_login(author)

    page = profile(client, store, customer)
    assert url("note_edit", store, customer.pk, note.pk) in page
    client.post(url("note_edit", store, customer.pk, note.pk), {"body": "By its author"})
    note.refresh_from_db()
    assert note.body == "By its author"

    for role in ("manager", "owner"):
        staff = MembershipFactory(store=store, role=role).user
        note_edit(store=store, note=note, actor=staff, body=f"By the {role}")
        note.refresh_from_db()
        assert note.body == f"By the {role}"
    client_as(client, store, "manager")
    assert url("note_delete", store, customer.pk, note.pk) in profile(client, store, customer)
    client.post(url("note_delete", store, customer.pk, note.pk))
    assert not CustomerNote.objects.filter(pk=note.pk).exists()


def test_the_services_refuse_a_note_of_someone_else(store, support):
    other = MembershipFactory(store=store, role="support").user
    note = CustomerNoteFactory(store=store, customer=CustomerFactory(store=store), author=other)
    orphan = CustomerNoteFactory(store=store, customer=note.customer, author=None)

    for target in (note, orphan):  # an author who left: only owners and managers
        with pytest.raises(ServiceError):
            note_edit(store=store, note=target, actor=support, body="x")
        with pytest.raises(ServiceError):
            note_delete(store=store, note=target, actor=support)
    assert CustomerNote.objects.count() == 2


def test_deleting_a_note_asks_first(owner_client, store, owner):
    customer = CustomerFactory(store=store)
    note = CustomerNoteFactory(store=store, customer=customer, author=owner)

    page = profile(owner_client, store, customer)

    delete_form = page[page.index(url("note_delete", store, customer.pk, note.pk)) :]
    # static/js/panel.js asks the question of a form's data-confirm (no inline handler: CSP)
    assert delete_form.split(">", 1)[0].endswith(
        'data-confirm="Delete this note? This cannot be undone."'
    )


# --- 7. The activity log ---------------------------------------------------------------------


def test_custom_field_edits_name_each_field_with_its_values_as_shown(owner_client, store):
    CustomFieldFactory(store=store, key="vip", label="VIP", field_type=CustomFieldType.BOOLEAN)
    CustomFieldFactory(store=store, key="born", label="Born", field_type=CustomFieldType.DATE)
    CustomFieldFactory(store=store, key="note", label="Nickname", field_type=CustomFieldType.TEXT)
    customer = CustomerFactory(store=store, custom_fields={"vip": False, "note": "Al"})

    response = owner_client.post(
        url("customer_edit", store, customer.pk),
        edit_data(customer, cf_vip="yes", cf_born="1990-05-17", cf_note=""),
    )
    assert response.status_code == 302, response.context["form"].errors

    event = ActivityEvent.objects.get(customer=customer, verb="customer.updated")
    born = date_format(datetime.date(1990, 5, 17), store.language)
    expected = (
        f"Edited: set Born to “{born}”; cleared Nickname (was “Al”); changed VIP from “No” to “Yes”"
    )
    assert event_sentence(event) == expected
    assert expected in profile(owner_client, store, customer).replace("&ldquo;", "“")
    activity = owner_client.get(url("customer_activity", store, customer.pk)).content.decode()
    assert "changed VIP from" in activity


def test_a_removed_custom_field_and_an_old_event_still_read(store):
    customer = CustomerFactory(store=store)

    def sentence(changes):
        return event_sentence(
            ActivityEvent(store=store, customer=customer, verb="customer.updated", data=changes)
        )

    assert sentence({"changes": {"custom_fields": {"gone": ["a", "b"]}}}) == (
        "Edited: changed gone from “a” to “b”"
    )
    old = {"changes": {"custom_fields": ["{'a': 1}", "{'a': 2}"]}}
    assert sentence(old) == "Edited: changed custom fields"


def test_booleans_read_yes_and_no_in_the_readers_language(store):
    event = ActivityEvent(
        store=store, verb="customer.updated", data={"changes": {"tax_exempt": ["False", "True"]}}
    )

    assert event_sentence(event) == "Edited: changed tax exempt from “No” to “Yes”"
    with translation.override("de"):
        german = event_sentence(event)
    assert "False" not in german and "True" not in german
    assert "Ja" in german and "Nein" in german


def test_counts_read_in_the_singular_for_one(owner_client, store):
    def merged(count):
        data = {"duplicate": {"email": "d@x.org"}, "orders_moved": count}
        return event_sentence(ActivityEvent(store=store, verb="customer.merged", data=data))

    assert merged(1) == "Merged with the duplicate profile d@x.org (1 order moved)"
    assert merged(3) == "Merged with the duplicate profile d@x.org (3 orders moved)"

    customer = CustomerFactory(store=store, email="one@example.org")
    OrderFactory(store=store, customer=customer)
    response = owner_client.post(url("customer_delete", store, customer.pk))
    assert "Customer one@example.org deleted; 1 order kept without a profile." in flashed(response)


# --- 8. Tags, and the layout of a long email --------------------------------------------------


def test_the_tag_autocomplete_leaves_out_the_customers_own_tags(owner_client, store):
    CustomerTagFactory(store=store, name="wholesale")
    customer = CustomerFactory(store=store)
    TaggedCustomerFactory(
        store=store, content_object=customer, tag=CustomerTagFactory(store=store, name="vip")
    )

    page = profile(owner_client, store, customer)

    assert '<option value="wholesale">' in page
    assert '<option value="vip">' not in page
    assert ">vip</a>" in page  # still listed as the customer's tag (a link to its list)


def test_a_long_email_wraps_inside_its_card(owner_client, store):
    email = "a.very.long.mailbox.name.that.goes.on.and.on@subdomain.example-company.org"
    customer = CustomerFactory(store=store, email=email, first_name="", last_name="")

    page = profile(owner_client, store, customer)

    # the class's rule is in panel.css (no style attributes: CSP)
    assert f'<dd class="wrap-anywhere"><a href="mailto:{email}">' in page
    assert f'<h1 class="wrap-anywhere">{email}</h1>' in page
    stylesheet = (settings.BASE_DIR / "static" / "css" / "panel.css").read_text()
    assert ".wrap-anywhere { overflow-wrap: anywhere; }" in stylesheet


def test_the_last_orders_addresses_read_like_saved_addresses():
    from customers.views.profile_display import order_address_lines

    lines = order_address_lines(
        {
            "name": "Ann",
            "line1": "1 Main St",
            "postal_code": "98101",
            "city": "Seattle",
            "country": "US",
            "phone": "+1 555",
            "unknown": "x",
        }
    )
    assert lines[:3] == ["Ann", "1 Main St", "98101 Seattle"]
    assert lines[-1] == "+1 555" and "US" not in lines
    assert order_address_lines(None) == [] and order_address_lines({}) == []


def test_the_add_form_shows_every_field_error_at_once(owner_client, store):

    response = owner_client.post(
        reverse("panel:customer_create", args=[store.slug]),
        {"email": "new@example.org", "country": "zz", "customer_since": "2099-01-01"},
    )
    errors = response.context["form"].errors
    assert "country" in errors and "customer_since" in errors


def test_country_names_follow_the_interface_language():
    from django.utils import translation

    from customers.views.profile_display import country_display

    assert country_display("de") == "Germany (DE)"
    with translation.override("de"):
        assert country_display("DE") == "Deutschland (DE)"
    with translation.override("it"):
        assert country_display("CH") == "Svizzera (CH)"
    assert country_display("XX") == "XX" and country_display("") == ""
