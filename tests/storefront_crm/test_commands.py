import pytest
from django.core.management import CommandError, call_command
from django_scopes import scopes_disabled

from customers.models import CustomerGroup
from storefront_crm.models import Membership, Store, User


@pytest.mark.django_db
def test_create_store_makes_the_store_its_groups_and_its_owner(capsys):
    call_command(
        "create_store",
        "shop-one",
        "--name",
        "Shop One",
        "--owner",
        "Owner@Example.com",
        "--password",
        "a-Long-enough-passphrase-9",
    )
    store = Store.objects.get(slug="shop-one")
    owner = User.objects.get(email="owner@example.com")
    assert owner.check_password("a-Long-enough-passphrase-9")
    assert Membership.objects.get(store=store, user=owner).role == "owner"
    with scopes_disabled():
        assert CustomerGroup.objects.filter(store=store).count() == 2
    assert "/store/shop-one/" in capsys.readouterr().out


@pytest.mark.django_db
def test_a_taken_slug_is_a_clear_error():
    call_command(
        "create_store",
        "taken",
        "--name",
        "A",
        "--owner",
        "a@example.com",
        "--password",
        "a-Long-enough-passphrase-9",
    )
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "create_store",
            "taken",
            "--name",
            "B",
            "--owner",
            "b@example.com",
            "--password",
            "a-Long-enough-passphrase-9",
        )


@pytest.mark.django_db
def test_an_existing_user_becomes_owner_of_the_new_store_too():
    call_command(
        "create_store",
        "first",
        "--name",
        "A",
        "--owner",
        "same@example.com",
        "--password",
        "a-Long-enough-passphrase-9",
    )
    call_command("create_store", "second", "--name", "B", "--owner", "same@example.com")
    user = User.objects.get(email="same@example.com")
    assert sorted(user.memberships.values_list("store__slug", flat=True)) == ["first", "second"]
    assert user.check_password("a-Long-enough-passphrase-9")


@pytest.mark.django_db
def test_without_a_terminal_a_new_owner_needs_a_password(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(CommandError, match="--password"):
        call_command("create_store", "nopass", "--name", "A", "--owner", "n@example.com")
    assert not Store.objects.filter(slug="nopass").exists()


@pytest.mark.django_db
def test_a_weak_password_is_refused_and_nothing_is_created():
    with pytest.raises(CommandError):
        call_command(
            "create_store", "weak", "--name", "A", "--owner", "w@example.com", "--password", "123"
        )
    assert not Store.objects.filter(slug="weak").exists()


@pytest.mark.django_db
def test_store_commands_fail_clearly_for_an_unknown_store():
    with pytest.raises(CommandError, match="Unknown store “nope”"):
        call_command("recompute_customer_stats", "--store", "nope")
