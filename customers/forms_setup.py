"""Forms of the setup pages: groups, the store's tags, custom fields.

They check the shape of the input; the rules (unique names, limits, values in use) are the
services' (``customers.services.groups``, ``.tags`` and ``.custom_fields``), whose errors
the views put on these forms.
"""

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from storefront_crm.errors import ServiceError

from .models import CustomerTag, CustomFieldType


class SetupForm(forms.Form):
    def add_service_error(self, error: ServiceError) -> None:
        """Show a service's refusal on the field it names, or above the form."""
        self.add_error(error.field if error.field in self.fields else None, error.message)


class GroupForm(SetupForm):
    name = forms.CharField(label=_("Name"), max_length=80)
    discount_percent = forms.DecimalField(
        label=_("Discount %"),
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        max_digits=5,
        decimal_places=2,
        initial=Decimal("0"),
        localize=True,
        help_text=_("From 0 to 100; applies to every member of the group."),
    )


class TagNameForm(SetupForm):
    name = forms.CharField(label=_("Name"), max_length=100)


class TagMergeForm(SetupForm):
    target = forms.ModelChoiceField(
        label=_("Merge into"),
        queryset=CustomerTag.objects.none(),
        help_text=_(
            "Customers with this tag get the chosen one instead (once each); "
            "this tag is then deleted."
        ),
    )

    def __init__(self, *args: Any, targets: QuerySet[CustomerTag], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = targets


class CustomFieldForm(SetupForm):
    label = forms.CharField(label=_("Label"), max_length=100)
    field_type = forms.ChoiceField(label=_("Type"), choices=CustomFieldType.choices)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For the type Choice: one choice per line."),
    )

    def __init__(self, *args: Any, type_locked: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if type_locked:
            # Customers have values, so the type cannot change: shown disabled. A disabled
            # select is not sent, so a missing type means the current one; a type that is
            # sent anyway (a page opened before the first value) still reaches the
            # service, which refuses it.
            type_field = self.fields["field_type"]
            type_field.widget.attrs["disabled"] = True
            type_field.help_text = _(
                "The type cannot change while customers have a value for this field."
            )
            if self.is_bound and not self.data.get(self.add_prefix("field_type")):
                self.data = self.data.copy()
                self.data[self.add_prefix("field_type")] = self.initial.get("field_type")

    def clean_choices(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["choices"].splitlines() if line.strip()]

    @staticmethod
    def initial_for(field: Any) -> dict[str, Any]:
        return {
            "label": field.label,
            "field_type": field.field_type,
            "choices": "\n".join(field.choices),
        }
