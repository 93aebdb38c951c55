"""Events other apps react to (social turns them into activity and notifications)."""

from django.dispatch import Signal

# A workbook was published for the first time. Sent inside the publishing transaction: `workbook`.
workbook_published = Signal()
# A curator featured a workbook: `workbook`, `curator`.
workbook_featured = Signal()
