"""Helpers shared by the project's forms."""

from django.db import models


def https_url_fields(field: models.Field, **kwargs):
    """A ModelForm `formfield_callback`: a bare address typed into a URL field means https."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)
