from django import forms
from django.utils.translation import gettext_lazy as _


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
