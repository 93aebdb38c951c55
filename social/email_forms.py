"""The Settings page's "Email" form: which emails a member wants, or none."""

from __future__ import annotations

from django import forms

from .models import EmailPreference


class EmailPreferencesForm(forms.Form):
    comments = forms.BooleanField(label="Someone comments on my workbooks", required=False)
    followers = forms.BooleanField(label="Someone follows me", required=False)
    featured = forms.BooleanField(label="Curators feature my workbook", required=False)
    digest = forms.BooleanField(
        label="A weekly digest of what the people I follow published", required=False
    )
    none = forms.BooleanField(label="No email at all", required=False)

    INSTANT = ("comments", "followers", "featured")

    @classmethod
    def for_preference(cls, preference: EmailPreference) -> EmailPreferencesForm:
        initial = {kind: getattr(preference, kind) for kind in EmailPreference.KINDS}
        initial["none"] = not any(initial.values())
        return cls(initial=initial)

    def choices(self) -> dict[str, bool]:
        """What to save: "No email at all" turns every kind off, whatever else is ticked."""
        off = self.cleaned_data["none"]
        return {kind: not off and self.cleaned_data[kind] for kind in EmailPreference.KINDS}
