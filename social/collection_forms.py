"""Forms of the collection pages. The rules themselves live in collection_services."""

from __future__ import annotations

from django import forms

from .models import Collection


class CollectionForm(forms.Form):
    title = forms.CharField(max_length=Collection.TITLE_MAX_LENGTH)
    description = forms.CharField(
        max_length=Collection.DESCRIPTION_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    visibility = forms.ChoiceField(
        choices=Collection.Visibility.choices,
        initial=Collection.Visibility.PUBLIC,
        widget=forms.RadioSelect,
        help_text="Unlisted: only people with the address see it. Private: only you.",
    )
