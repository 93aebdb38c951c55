"""Forms of the social pages. The rules themselves live in services (one place for HTML and API)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from . import services
from .models import Comment, Verb


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        # Blank and too long are refused by services.clean_comment_body, with the API's messages.
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": Comment.MAX_LENGTH}),
        help_text="Plain text. Links starting with http:// or https:// become clickable.",
    )

    def clean_body(self) -> str:
        try:
            return services.clean_comment_body(self.cleaned_data.get("body", ""))
        except ValidationError as error:
            raise forms.ValidationError(error.messages, code=error.code) from None


# Labels for the mute form: what the member would be told, not the verb.
MUTE_CHOICES = [
    (Verb.FOLLOWED.value, "Someone follows you"),
    (Verb.FAVORITED.value, "Someone favorites your workbook"),
    (Verb.COMMENTED.value, "Someone comments on your workbook"),
    (Verb.PUBLISHED.value, "Someone you follow publishes a workbook"),
    (Verb.FEATURED.value, "Curators feature your workbook"),
]


class MutedVerbsForm(forms.Form):
    muted = forms.MultipleChoiceField(
        label="Don't notify me when",
        choices=MUTE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
