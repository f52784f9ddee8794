"""Celery tasks of the customers area. Tasks take ids and call services."""

from celery import shared_task
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from storefront_crm.models import Store
from storefront_crm.tasks import MAX_RETRY_BACKOFF, TRANSIENT_ERRORS
from storefront_crm.tenancy import store_scope


@shared_task(
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=MAX_RETRY_BACKOFF,
    retry_jitter=True,
    max_retries=6,
)
def email_confirmation_deliver(store_id: int, customer_id: int, base_url: str) -> bool:
    """Send the email-confirmation message; does nothing when the profile is gone or
    already confirmed (so a repeated run does not mail twice after confirmation)."""
    from .models import Customer
    from .services.accounts import email_confirmation_url

    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return False
    with store_scope(store), translation.override(store.language):
        customer = Customer.objects.filter(store=store, pk=customer_id).first()
        if customer is None or customer.email_confirmed:
            return False
        context = {
            "store": store,
            "customer": customer,
            "confirm_url": email_confirmation_url(customer, store=store, base_url=base_url),
        }
        subject = " ".join(
            render_to_string("emails/customer_email_confirm.subject.txt", context).split()
        )
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("emails/customer_email_confirm.txt", context),
            to=[customer.email],
            reply_to=[store.contact_email] if store.contact_email else None,
        )
        message.attach_alternative(
            render_to_string("emails/customer_email_confirm.html", context), "text/html"
        )
        message.send()
    return True
