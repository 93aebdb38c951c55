"""Model helpers shared by the apps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

# Mixed into models only: typed as one for the checker, a plain class at run time (Django's model
# metaclass would otherwise make the mixin a model itself).
if TYPE_CHECKING:
    _Base = models.Model
else:
    _Base = object


class MaintainedFieldsMixin(_Base):
    """Fields written only by database-side updates (counters, say): a full `save()` of
    an instance loaded before they changed must not put the old values back."""

    MAINTAINED_FIELDS: frozenset[str] = frozenset()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in self.MAINTAINED_FIELDS
            ]
        super().save(*args, **kwargs)
