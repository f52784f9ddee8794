"""Forms of the customer profile. Forms only parse input; the services apply the rules."""

import datetime
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from storefront_crm.errors import ServiceError
from storefront_crm.models import Store

from .models import (
    AccountType,
    Customer,
    CustomerGroup,
    CustomField,
    CustomFieldType,
    GroupKind,
)
from .selectors_setup import default_group_names
from .services.customers import country_clean

CUSTOM_FIELD_PREFIX = "cf_"
YES_NO_CHOICES = [("", "—"), ("yes", _("Yes")), ("no", _("No"))]


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000
    )


class TagAddForm(forms.Form):
    tags = forms.CharField(
        label=_("Add tags"), max_length=500, help_text=_("Separate several tags with commas.")
    )

    def clean_tags(self) -> list[str]:
        return [name for name in self.cleaned_data["tags"].split(",") if name.strip()]


def custom_form_field(field: CustomField) -> forms.Field:
    """The form field for a store's custom field, validating by its type."""
    common: dict[str, Any] = {"label": field.label, "required": False}
    if field.field_type == CustomFieldType.NUMBER:
        return forms.DecimalField(max_digits=20, decimal_places=6, **common)
    if field.field_type == CustomFieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if field.field_type == CustomFieldType.BOOLEAN:
        return forms.ChoiceField(choices=YES_NO_CHOICES, **common)
    if field.field_type == CustomFieldType.CHOICE:
        return forms.ChoiceField(
            choices=[("", "—")] + [(str(choice), str(choice)) for choice in field.choices],
            **common,
        )
    return forms.CharField(max_length=2000, **common)


def custom_form_initial(field: CustomField, value: Any) -> Any:
    if value is None:
        return None
    if field.field_type == CustomFieldType.BOOLEAN:
        return "yes" if value is True else "no" if value is False else None
    return value


class CustomerForm(forms.Form):
    """Create or edit a customer; ``values()`` are the keyword arguments of the service."""

    email = forms.EmailField(label=_("Email"), max_length=254)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    country = forms.CharField(
        label=_("Country"),
        max_length=2,
        required=False,
        help_text=_("Two-letter ISO code, e.g. DE"),
        validators=[
            RegexValidator(r"^[A-Za-z]{2}$", _("Enter a two-letter country code, e.g. DE."))
        ],
    )
    customer_since = forms.DateField(
        label=_("Customer since"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    account_type = forms.ChoiceField(label=_("Account"), choices=AccountType.choices)
    group = forms.ModelChoiceField(
        label=_("Group"),
        queryset=CustomerGroup.objects.none(),
        required=False,
    )
    tags = forms.CharField(
        label=_("Tags"),
        max_length=1000,
        required=False,
        help_text=_("Separate several tags with commas."),
    )
    accepts_marketing = forms.BooleanField(label=_("Accepts marketing"), required=False)
    tax_exempt = forms.BooleanField(label=_("Tax exempt"), required=False)
    vat_id = forms.CharField(label=_("VAT ID"), max_length=32, required=False)
    # The profile's edit_version when the form was opened (edit only): a save over a newer
    # version is refused for review. Missing (a client that does not send it): no check.
    edit_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(
        self,
        *args: Any,
        store: Store,
        customer: Customer | None = None,
        custom_fields: list[CustomField],
        **kwargs: Any,
    ) -> None:
        self.store = store
        self.customer = customer
        self.custom_fields = custom_fields
        if customer is not None:
            initial = {
                name: getattr(customer, name)
                for name in (
                    "email",
                    "first_name",
                    "last_name",
                    "phone",
                    "company",
                    "country",
                    "account_type",
                    "accepts_marketing",
                    "tax_exempt",
                    "vat_id",
                )
            }
            initial["group"] = customer.group_id
            initial["edit_version"] = customer.edit_version
            initial["customer_since"] = timezone.localtime(customer.customer_since).date()
            for field in custom_fields:
                initial[CUSTOM_FIELD_PREFIX + field.key] = custom_form_initial(
                    field, (customer.custom_fields or {}).get(field.key)
                )
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = CustomerGroup.objects.filter(store=store)
        self.fields["group"].help_text = self._group_help_text(store)
        if customer is None:
            del self.fields["edit_version"]
        else:
            del self.fields["tags"]  # tags are added and removed on the profile itself
            # a profile always has one; clearing it must be an error, not silently ignored
            self.fields["customer_since"].required = True
        for field in custom_fields:
            self.fields[CUSTOM_FIELD_PREFIX + field.key] = custom_form_field(field)

    @staticmethod
    def _group_help_text(store: Store) -> str:
        """Names the store's default groups as they are called now: they can be renamed."""
        names = default_group_names(store=store)
        return _("Empty: “%(guests)s” for guests, “%(standard)s” for registered accounts.") % {
            "guests": names[GroupKind.GUESTS],
            "standard": names[GroupKind.STANDARD],
        }

    @property
    def custom_field_names(self) -> list[str]:
        return [CUSTOM_FIELD_PREFIX + field.key for field in self.custom_fields]

    # The services check these again; checking them here too shows every field's error at
    # once instead of the first one the service meets.
    def clean_country(self) -> str:
        try:
            return country_clean(self.cleaned_data["country"])
        except ServiceError as error:
            raise forms.ValidationError(error.message) from None

    def clean_customer_since(self) -> datetime.date | None:
        since = self.cleaned_data.get("customer_since")
        if since is not None and since > timezone.localdate():
            raise forms.ValidationError(_("“Customer since” cannot be in the future."))
        return since

    def values(self) -> dict[str, Any]:
        """Keyword arguments for ``customer_create`` / ``customer_update``."""
        data = dict(self.cleaned_data)
        data.pop("edit_version", None)  # passed as the service's expected_version
        custom = dict(self.customer.custom_fields or {}) if self.customer else {}
        for field in self.custom_fields:
            value = data.pop(CUSTOM_FIELD_PREFIX + field.key, None)
            if field.field_type == CustomFieldType.BOOLEAN:
                value = {"yes": True, "no": False}.get(value or "")
            custom[field.key] = value
        data["custom_fields"] = custom
        since = data.pop("customer_since", None)
        if since is not None and (
            self.customer is None
            or since != timezone.localtime(self.customer.customer_since).date()
        ):
            noon = timezone.make_aware(datetime.datetime.combine(since, datetime.time(12, 0)))
            # today's noon may be still to come, and the service refuses the future
            data["customer_since"] = (
                min(noon, timezone.now()) if since == timezone.localdate() else noon
            )
        # an empty group stays None: the service picks the account type's default group
        tags = data.pop("tags", "")
        if self.customer is None:
            data["tags"] = [name for name in (tags or "").split(",") if name.strip()]
        return data


class MergePickForm(forms.Form):
    other = forms.CharField(
        label=_("The other profile"),
        max_length=254,
        help_text=_("Its email address or its number (the id in its address)."),
    )


class MergeForm(forms.Form):
    """One radio choice per field whose values differ between the two profiles."""

    def __init__(self, *args: Any, rows: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            if not row["differs"]:
                continue
            self.fields[self.field_name(row["key"])] = forms.ChoiceField(
                label=row["label"],
                choices=[("survivor", _("Keep")), ("duplicate", _("Take over"))],
                widget=forms.RadioSelect,
                required=False,
                initial=None if row["required"] else self.default_side(row),
            )

    @staticmethod
    def default_side(row: dict[str, Any]) -> str:
        """Keep the survivor's value, unless only the duplicate has one."""
        empty = ("", None)
        return (
            "duplicate"
            if row["survivor"] in empty and row["duplicate"] not in empty
            else "survivor"
        )

    @staticmethod
    def field_name(key: str) -> str:
        return "choice_" + key.replace(":", "__")

    def choices(self) -> dict[str, str]:
        return {
            row["key"]: self.cleaned_data.get(self.field_name(row["key"])) or ""
            for row in self.rows
            if row["differs"] and self.cleaned_data.get(self.field_name(row["key"]))
        }
