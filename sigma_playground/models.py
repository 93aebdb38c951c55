"""Model helpers shared by the apps."""

from __future__ import annotations


class MaintainedFieldsMixin:
    """Fields written only by database-side updates (counters, say): a full `save()` of
    an instance loaded before they changed must not put the old values back."""

    MAINTAINED_FIELDS: frozenset[str] = frozenset()

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in self.MAINTAINED_FIELDS
            ]
        super().save(*args, **kwargs)
