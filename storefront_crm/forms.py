from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .models import Role, Store


class StaffLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class StoreSettingsForm(forms.ModelForm):
    class Meta:
        model = Store
        fields = ["name", "contact_email", "currency", "language", "time_zone"]


class StaffAddForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    password = forms.CharField(
        label=_("Password for a new user"),
        required=False,
        widget=forms.PasswordInput,
        help_text=_("Only used when this email has no login yet."),
    )
