"""A settings row: one per table (pk 1, which each table's check constraint also enforces)."""

from django.core.exceptions import ValidationError
from django.db import models


class SettingsRow(models.Model):
    SINGLETON_ID = 1

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.pk = self.SINGLETON_ID
        super().save(*args, **kwargs)

    @classmethod
    def load(cls):
        """The settings row, or an unsaved one with the defaults (reading never writes)."""
        return cls.objects.filter(pk=cls.SINGLETON_ID).first() or cls(pk=cls.SINGLETON_ID)

    def check_fields(self, checks) -> dict[str, list[str]]:
        """Run (field name, check) pairs: a check returns the cleaned value (stored back) or raises
        ValidationError. Returns the messages per field; the caller adds cross-field ones and raises."""
        errors = {}
        for name, check in checks:
            try:
                setattr(self, name, check(getattr(self, name)))
            except ValidationError as exc:
                errors[name] = exc.messages
        return errors
