from django import forms
from django.utils.translation import gettext_lazy as _

from .models import OrderStatus


class OrderExportForm(forms.Form):
    """What the Export buttons of the orders page send: which list, which days."""

    what = forms.ChoiceField(
        choices=[("orders", _("Orders")), ("products", _("Ordered products"))], initial="orders"
    )
    date_from = forms.DateField(label=_("From"), required=False)
    date_to = forms.DateField(label=_("To"), required=False)
    status = forms.ChoiceField(choices=[("", _("All")), *OrderStatus.choices], required=False)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The first day is after the last one."))
        return data
