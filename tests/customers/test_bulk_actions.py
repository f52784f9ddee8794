"""Bulk actions of the customer list: each action, activity, the job path, roles, tenancy."""

from decimal import Decimal

import pytest
from django.urls import reverse

from customers.conditions import Condition
from customers.models import ActivityEvent, Customer, CustomerGroup, TaggedCustomer
from customers.services.bulk import bulk_action_start
from storefront_crm import jobs
from storefront_crm.errors import ServiceError
from storefront_crm.models import Job, JobStatus
from tests.factories import (
    CustomerFactory,
    CustomerGroupFactory,
    CustomerTagFactory,
    MembershipFactory,
    OrderFactory,
    TaggedCustomerFactory,
)

from .bulk_steps import step_fields

pytestmark = pytest.mark.django_db


def bulk_url(store):
    return reverse("panel:customers_bulk", kwargs={"store_slug": store.slug})


def signed_in(client, store, role):
    client.force_login(MembershipFactory(store=store, role=role).user)
    return client


def test_add_and_remove_tag_on_the_selection(store, owner):
    chosen = [CustomerFactory(store=store) for _ in range(3)]
    other = CustomerFactory(store=store)
    TaggedCustomerFactory(store=store, content_object=chosen[0], tag__name="vip")
    ids = [c.pk for c in chosen]
    outcome = bulk_action_start(
        store=store,
        actor=owner,
        action="tag_add",
        conditions=[],
        customer_ids=ids,
        tag_names=["VIP"],
    )
    assert outcome.changed == 2 and outcome.job is None  # the first one had it already
    assert TaggedCustomer.objects.filter(store=store, tag__name="vip").count() == 3
    assert ActivityEvent.objects.filter(store=store, verb="tags.added").count() == 2
    outcome = bulk_action_start(
        store=store,
        actor=owner,
        action="tag_remove",
        conditions=[],
        customer_ids=ids,
        tag_names=["vip"],
    )
    assert outcome.changed == 3
    assert not TaggedCustomer.objects.filter(store=store).exists()
    assert not other.events.filter(verb__startswith="tags").exists()


def test_set_group_tax_exempt_and_marketing_on_all_that_match(store, owner):
    vip = CustomerGroupFactory(store=store, name="VIP")
    rich = [CustomerFactory(store=store, total_spent=Decimal("500")) for _ in range(2)]
    poor = CustomerFactory(store=store, total_spent=Decimal("5"))
    conditions = [Condition("total_spent", "gte", "100")]
    for action, extra in (
        ("group_set", {"group_id": vip.pk}),
        ("tax_exempt_on", {}),
        ("subscribe", {}),
    ):
        outcome = bulk_action_start(
            store=store,
            actor=owner,
            action=action,
            conditions=conditions,
            customer_ids=None,
            **extra,
        )
        assert outcome.changed == 2
    for customer in rich:
        customer.refresh_from_db()
        assert customer.group == vip and customer.tax_exempt and customer.accepts_marketing
        assert customer.marketing_consent_at is not None
        changes = [e.data["changes"] for e in customer.events.filter(verb="customer.updated")]
        assert {"accepts_marketing": ["False", "True"]} in changes
        assert all(e.actor == owner for e in customer.events.all())
    poor.refresh_from_db()
    assert not poor.accepts_marketing and poor.marketing_consent_at is None
    outcome = bulk_action_start(
        store=store, actor=owner, action="unsubscribe", conditions=conditions, customer_ids=None
    )
    assert outcome.changed == 2
    assert not Customer.objects.filter(store=store, accepts_marketing=True).exists()


def test_delete_keeps_orders_detached(store, owner):
    doomed = CustomerFactory(store=store, email="gone@example.org")
    order = OrderFactory(store=store, customer=doomed)
    outcome = bulk_action_start(
        store=store, actor=owner, action="delete", conditions=[], customer_ids=[doomed.pk]
    )
    assert outcome.changed == 1
    assert not Customer.objects.filter(pk=doomed.pk).exists()
    order.refresh_from_db()
    assert order.customer_id is None
    event = ActivityEvent.objects.get(store=store, verb="customer.deleted")
    assert event.data["email"] == "gone@example.org" and event.customer is None


def test_another_stores_group_and_customers_are_refused(store, other_store, owner, unscoped):
    foreign_group = CustomerGroup.objects.filter(store=other_store).first()
    foreign_customer = CustomerFactory(store=other_store)
    mine = CustomerFactory(store=store)
    with pytest.raises(ServiceError):
        bulk_action_start(
            store=store,
            actor=owner,
            action="group_set",
            conditions=[],
            customer_ids=[mine.pk],
            group_id=foreign_group.pk,
        )
    outcome = bulk_action_start(
        store=store,
        actor=owner,
        action="tax_exempt_on",
        conditions=[],
        customer_ids=[mine.pk, foreign_customer.pk],
    )
    assert outcome.changed == 1
    foreign_customer.refresh_from_db()
    assert not foreign_customer.tax_exempt


def test_many_customers_run_as_a_job(store, owner, settings, django_capture_on_commit_callbacks):
    settings.STOREFRONT_BULK_SYNC_LIMIT = 3
    for _ in range(5):
        CustomerFactory(store=store, country="DE")
    CustomerFactory(store=store, country="FR")
    with django_capture_on_commit_callbacks(execute=True):
        outcome = bulk_action_start(
            store=store,
            actor=owner,
            action="tag_add",
            conditions=[Condition("country", "in", ["DE"])],
            customer_ids=None,
            tag_names=["germany"],
        )
    job = Job.objects.get(pk=outcome.job.pk)
    assert job.kind == "customers.bulk" and job.status == JobStatus.SUCCEEDED, job.message
    assert job.progress_done == 5 and job.counts["changed"] == 5
    assert TaggedCustomer.objects.filter(store=store, tag__name="germany").count() == 5
    assert jobs.job_execute(job.pk).status == JobStatus.SUCCEEDED  # a second run is harmless


def test_bulk_view_redirects_to_the_job_page(client, store, settings):
    settings.STOREFRONT_BULK_SYNC_LIMIT = 1
    signed_in(client, store, "manager")
    ids = [CustomerFactory(store=store).pk for _ in range(2)]
    response = client.post(
        bulk_url(store), {"action": "subscribe", "scope": "selected", "ids": ids, "query": ""}
    )
    job = Job.objects.get(store=store, kind="customers.bulk")
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "panel:job", kwargs={"store_slug": store.slug, "job_id": job.pk}
    )


def test_support_may_tag_but_not_delete_export_or_edit(client, store):
    signed_in(client, store, "support")
    customer = CustomerFactory(store=store)
    data = {"scope": "selected", "ids": [customer.pk], "query": ""}
    response = client.post(bulk_url(store), {**data, "action": "tag_add", "tag": "called"})
    assert response.status_code == 302
    assert customer.tags.filter(name="called").exists()
    for action in ("delete", "export", "group_set", "subscribe", "tax_exempt_on"):
        response = client.post(bulk_url(store), {**data, "action": action, "confirmed": "yes"})
        assert response.status_code == 403, action
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_delete_asks_for_confirmation_first(client, store):
    signed_in(client, store, "owner")
    customer = CustomerFactory(store=store)
    data = {"action": "delete", "scope": "selected", "ids": [customer.pk], "query": "q=x"}
    response = client.post(bulk_url(store), data)
    assert response.status_code == 200 and b"orders are kept" in response.content
    assert Customer.objects.filter(pk=customer.pk).exists()
    # "Confirmed" alone, without the selection the page showed, only asks again.
    again = client.post(bulk_url(store), {**data, "confirmed": "yes"})
    assert again.status_code == 200 and Customer.objects.filter(pk=customer.pk).exists()
    response = client.post(
        bulk_url(store), {**step_fields(response), "confirmed": "yes"}, follow=True
    )
    assert response.redirect_chain[0][0].endswith("?q=x")
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert b"1 customer deleted." in response.content


def test_the_outcome_message_counts_in_singular_and_plural(client, store):
    signed_in(client, store, "owner")
    one, two, three = (CustomerFactory(store=store) for _ in range(3))
    data = {"action": "subscribe", "scope": "selected", "ids": [one.pk]}
    response = client.post(bulk_url(store), data, follow=True)
    assert b"1 customer changed." in response.content
    response = client.post(bulk_url(store), {**data, "ids": [two.pk, three.pk]}, follow=True)
    assert b"2 customers changed." in response.content


def test_all_that_match_uses_the_posted_filters(client, store):
    signed_in(client, store, "owner")
    de = CustomerFactory(store=store, country="DE")
    fr = CustomerFactory(store=store, country="FR")
    client.post(bulk_url(store), {"action": "tax_exempt_on", "scope": "all", "query": "country=DE"})
    de.refresh_from_db()
    fr.refresh_from_db()
    assert de.tax_exempt and not fr.tax_exempt


def test_export_starts_the_export_job_with_the_agreed_parameters(client, store, monkeypatch):
    handlers = dict(jobs._HANDLERS)
    handlers.setdefault("customers.export", lambda ctx: "stub")
    monkeypatch.setattr(jobs, "_HANDLERS", handlers)
    signed_in(client, store, "manager")
    tag = CustomerTagFactory(store=store, name="vip")
    data = {"action": "export", "scope": "all", "query": f"tag={tag.pk}&q=ann"}
    # First the question for which program the file is, with the selection kept.
    step = client.post(bulk_url(store), data)
    html = step.content.decode()
    assert step.status_code == 200 and not Job.objects.filter(kind="customers.export").exists()
    assert 'name="dialect" value="spreadsheet"' in html
    assert f'name="query" value="tag={tag.pk}&amp;q=ann"' in html
    # An unknown answer asks again.
    assert client.post(bulk_url(store), {**data, "dialect": "xlsx"}).status_code == 200

    done = client.post(bulk_url(store), {**step_fields(step), "dialect": "spreadsheet"})

    job = Job.objects.get(store=store, kind="customers.export")
    assert done.status_code == 302 and done["Location"].endswith(f"/jobs/{job.pk}/")
    assert job.params == {
        "conditions": [
            {"field": "search", "op": "contains", "value": "ann"},
            {"field": "tag", "op": "any", "value": [tag.pk]},
        ],
        "customer_ids": None,
        "dialect": "spreadsheet",
    }


def test_the_export_service_refuses_an_unknown_file_format(store, owner):
    with pytest.raises(ServiceError, match="format"):
        bulk_action_start(
            store=store,
            actor=owner,
            action="export",
            conditions=[],
            customer_ids=None,
            dialect="xlsx",
        )
    assert not Job.objects.filter(kind="customers.export").exists()


def test_nothing_selected_is_an_error_message(client, store):
    signed_in(client, store, "owner")
    response = client.post(
        bulk_url(store), {"action": "subscribe", "scope": "selected"}, follow=True
    )
    assert b"Select customers first" in response.content


def test_adding_a_tag_to_nobody_does_not_create_the_tag(store, owner):
    from customers.models import CustomerTag
    from customers.services.bulk import bulk_action_start

    outcome = bulk_action_start(
        store=store,
        actor=owner,
        action="tag_add",
        conditions=[],
        customer_ids=[999_999],
        tag_names=["never-used"],
    )
    assert outcome.changed == 0
    assert not CustomerTag.objects.filter(store=store, name="never-used").exists()


def test_confirmation_emails_go_to_unconfirmed_accounts_only_once_a_minute(
    store, owner, mailoutbox, django_capture_on_commit_callbacks
):
    waiting = [
        CustomerFactory(store=store, account_type="registered", email_confirmed=False)
        for _ in range(2)
    ]
    guest = CustomerFactory(store=store, account_type="guest")
    confirmed = CustomerFactory(store=store, account_type="registered", email_confirmed=True)
    ids = [customer.pk for customer in (*waiting, guest, confirmed)]

    def send():
        with django_capture_on_commit_callbacks(execute=True):
            return bulk_action_start(
                store=store,
                actor=owner,
                action="email_confirm_send",
                conditions=[],
                customer_ids=ids,
                base_url="http://shop.example/",
            )

    assert send().changed == 2
    assert sorted(mail.to[0] for mail in mailoutbox) == sorted(c.email for c in waiting)
    assert all("http://shop.example/shop/" in mail.body for mail in mailoutbox)
    sent = ActivityEvent.objects.filter(verb="email.confirmation_sent")
    assert sorted(sent.values_list("customer_id", flat=True)) == sorted(c.pk for c in waiting)
    # Within the minute, nobody gets a second one (the profile's rule).
    assert send().changed == 0 and len(mailoutbox) == 2


def test_confirmation_emails_to_many_run_as_a_job_with_the_sites_address(
    client, store, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.STOREFRONT_BULK_SYNC_LIMIT = 1
    signed_in(client, store, "manager")
    ids = [CustomerFactory(store=store, account_type="registered").pk for _ in range(3)]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            bulk_url(store),
            {"action": "email_confirm_send", "scope": "selected", "ids": ids, "query": ""},
        )

    job = Job.objects.get(store=store, kind="customers.bulk")
    assert response.status_code == 302 and job.status == JobStatus.SUCCEEDED, job.message
    assert job.params["value"] == "http://testserver/" and len(mailoutbox) == 3


def test_support_may_not_send_confirmation_emails(client, store, mailoutbox):
    signed_in(client, store, "support")
    customer = CustomerFactory(store=store, account_type="registered")

    response = client.post(
        bulk_url(store),
        {"action": "email_confirm_send", "scope": "selected", "ids": [customer.pk], "query": ""},
    )

    assert response.status_code == 403 and mailoutbox == []
