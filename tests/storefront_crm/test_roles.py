import pytest
from django.urls import reverse

from storefront_crm.models import Role
from storefront_crm.tenancy import PERMISSIONS, role_has_permission
from tests.factories import CustomerFactory, MembershipFactory, UserFactory


def test_owner_holds_every_permission():
    assert all(role_has_permission(Role.OWNER, name) for name in PERMISSIONS)


def test_manager_holds_everything_but_staff_and_store_settings():
    denied = {name for name in PERMISSIONS if not role_has_permission(Role.MANAGER, name)}
    assert denied == {"staff.manage", "store.settings"}


def test_support_reads_and_writes_notes_and_tags_only():
    allowed = {name for name in PERMISSIONS if role_has_permission(Role.SUPPORT, name)}
    assert {"customers.view", "orders.view", "customers.notes", "customers.tags"} <= allowed
    for forbidden in (
        "customers.export",
        "customers.import",
        "customers.delete",
        "customers.impersonate",
        "customers.edit",
        "customers.notes_moderate",  # another member's note stays theirs
        "staff.manage",
    ):
        assert forbidden not in allowed


def test_an_unknown_permission_name_is_an_error_not_a_silent_allow():
    with pytest.raises(ValueError):
        role_has_permission(Role.OWNER, "customers.typo")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "url_name", "expected"),
    [
        ("owner", "panel:staff", 200),
        ("manager", "panel:staff", 403),
        ("support", "panel:staff", 403),
        ("owner", "panel:settings", 200),
        ("manager", "panel:settings", 403),
        ("support", "panel:settings", 403),
        ("support", "panel:customers", 200),
        ("support", "panel:orders", 200),
    ],
)
def test_roles_are_enforced_on_the_server(client, store, role, url_name, expected):
    user = MembershipFactory(store=store, role=role).user
    client.force_login(user)
    assert client.get(reverse(url_name, args=[store.slug])).status_code == expected


@pytest.mark.django_db
def test_support_can_write_notes_but_a_post_to_staff_is_refused(client, store):
    support = MembershipFactory(store=store, role="support").user
    customer = CustomerFactory(store=store)
    client.force_login(support)
    response = client.post(
        reverse("panel:note_create", args=[store.slug, customer.pk]),
        {"body": "Called about the parcel"},
    )
    assert response.status_code == 302
    assert customer.notes.get().body == "Called about the parcel"
    response = client.post(
        reverse("panel:staff", args=[store.slug]), {"email": "x@example.com", "role": "owner"}
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_shopper_identity_never_passes_the_staff_check(client, store):
    shopper = UserFactory(store=store)
    client.force_login(shopper)
    assert client.get(reverse("panel:customers", args=[store.slug])).status_code == 404


@pytest.mark.django_db
def test_a_shopper_cannot_sign_in_to_the_panel(client, store, password):
    shopper = UserFactory(store=store)
    response = client.post(reverse("login"), {"username": shopper.email, "password": password})
    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_staff_sign_in_with_email_in_any_letter_case(client, owner, password):
    response = client.post(
        reverse("login"), {"username": owner.email.upper(), "password": password}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


@pytest.mark.django_db
def test_owner_adds_a_manager_and_cannot_remove_the_last_owner(owner_client, store, owner):
    response = owner_client.post(
        reverse("panel:staff", args=[store.slug]),
        {"email": "new@example.com", "role": "manager", "password": "a-Long-enough-passphrase-9"},
    )
    assert response.status_code == 302
    own = owner.memberships.get(store=store)
    owner_client.post(reverse("panel:staff_remove", args=[store.slug, own.pk]))
    assert owner.memberships.filter(store=store).exists()


@pytest.mark.django_db
def test_the_operators_admin_is_for_superusers_only_at_a_non_default_path(client, owner, settings):
    assert settings.ADMIN_URL != "admin/"
    client.force_login(owner)
    response = client.get("/" + settings.ADMIN_URL)
    assert response.status_code == 302  # to the admin's own login
    assert client.get("/admin/").status_code == 404
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(superuser)
    assert client.get("/" + settings.ADMIN_URL + "customers/customer/").status_code == 200


@pytest.mark.django_db
def test_a_password_change_elsewhere_signs_the_panel_session_out(owner_client, store, owner):
    """The middleware reads user and membership in one query; Django still checks the
    session against the user's password hash."""
    url = reverse("panel:customers", args=[store.slug])
    assert owner_client.get(url).status_code == 200
    owner.set_password("another-Long-passphrase-7")
    owner.save()
    response = owner_client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in owner_client.session


@pytest.mark.django_db
def test_a_deactivated_staff_user_is_signed_out_of_the_panel(owner_client, store, owner):
    url = reverse("panel:customers", args=[store.slug])
    owner.is_active = False
    owner.save()
    response = owner_client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_removed_membership_is_a_404_at_once(owner_client, store, owner):
    url = reverse("panel:customers", args=[store.slug])
    assert owner_client.get(url).status_code == 200
    owner.memberships.filter(store=store).delete()
    assert owner_client.get(url).status_code == 404
    # a signed-in member of another store only: still signed in, still a 404 here
    assert "_auth_user_id" in owner_client.session


@pytest.mark.django_db
def test_the_one_query_membership_equals_the_orm_one(store, owner):
    from storefront_crm.models import Membership
    from storefront_crm.tenancy import _membership_columns_plain, membership_with_user

    assert _membership_columns_plain()  # else the plain-SQL path would be skipped
    fast = membership_with_user(str(owner.pk), store.slug)
    orm = Membership.objects.select_related("store", "user").get(user=owner, store=store)
    for got, expected in ((fast, orm), (fast.store, orm.store), (fast.user, orm.user)):
        for field in type(expected)._meta.concrete_fields:
            assert getattr(got, field.attname) == getattr(expected, field.attname), field.name
    assert membership_with_user("not a number", store.slug) is None
    assert membership_with_user(str(owner.pk), "no-such-store") is None
