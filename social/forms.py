"""Forms of the social pages. The rules themselves live in services (one place for HTML and API)."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.core.exceptions import ValidationError

from . import services
from .models import Comment, Verb

MAX_IDS = 100  # ids one request may name: the cards of a page, the notifications marked read


def parse_ids(raw: Iterable[str]) -> list[int]:
    """The ids among `raw`, the first MAX_IDS of them; a part that is not an id is left out (a card's
    id the page could not read should not cost the others their state)."""
    ids = []
    for part in raw:
        part = part.strip()
        # isascii: "²".isdigit() is True, but int() refuses it.
        if part.isascii() and part.isdigit() and len(part) <= 18:  # bigger would not fit an id
            ids.append(int(part))
    return ids[:MAX_IDS]


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
