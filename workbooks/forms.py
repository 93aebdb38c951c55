from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from . import embed, services
from .models import Workbook


class WorkbookForm(forms.ModelForm):
    # A plain text field: Sigma's own parser gives the author a better message than "Enter a URL".
    embed_url = forms.CharField(
        label="Sigma URL",
        max_length=2048,
        widget=forms.URLInput(
            attrs={"placeholder": "https://app.sigmacomputing.com/embed/…", "spellcheck": "false"}
        ),
    )
    tags = forms.CharField(
        required=False,
        max_length=400,
        help_text=f"Up to {services.MAX_TAGS}, separated by commas: finance, forecasting, SaaS.",
    )
    status = forms.ChoiceField(
        choices=Workbook.Status.choices,
        widget=forms.RadioSelect,
        initial=Workbook.Status.PUBLISHED,
        label="Visibility",
        help_text="A draft is visible only to you.",
    )

    class Meta:
        model = Workbook
        fields = ["title", "embed_url", "description", "tags", "status"]
        widgets = {"description": forms.Textarea(attrs={"rows": 8})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["tags"] = ", ".join(tag.name for tag in self.instance.tags.all())
        if embed.secure_embedding_enabled():
            note = (
                "A public embed link, or a workbook, page or element URL: those are shown through "
                "a signed embed for each viewer."
            )
        else:
            note = (
                "A public embed link (https://app.sigmacomputing.com/embed/…) shows the workbook "
                "here. A workbook, page or element URL shows as a card that opens it in Sigma, "
                "since this site has no secure-embed credentials."
            )
        self.fields["embed_url"].help_text = note

    def clean_embed_url(self) -> str:
        return services.parse_embed_url(self.cleaned_data["embed_url"]).url

    def clean_tags(self) -> list[str]:
        return services.clean_tag_names(self.cleaned_data["tags"].split(","))

    def _post_clean(self) -> None:
        # The model is written by services, which render the description and parse the URL.
        pass

    def save_for(self, author) -> Workbook:
        data = {
            name: self.cleaned_data[name]
            for name in ("title", "description", "embed_url", "status")
        }
        try:
            if self.instance.pk:
                return services.update_workbook(
                    self.instance, tags=self.cleaned_data["tags"], **data
                )
            return services.create_workbook(author, tags=self.cleaned_data["tags"], **data)
        except ValidationError as error:
            self.add_error(None, error)
            raise
