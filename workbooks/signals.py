"""Events other apps react to (social turns them into activity and notifications)."""

from django.dispatch import Signal

# A workbook was published for the first time. Sent inside the publishing transaction: `workbook`.
workbook_published = Signal()
# A curator featured a workbook: `workbook`, `curator`.
workbook_featured = Signal()
# More than EMBED_FAILING_SHARE of a workbook's last EMBED_FAILING_WINDOW embed outcomes failed, as a
# reader's page reported another failure (workbooks.embed_health): `workbook`, `share` (0 to 1),
# `window`. Sent inside the transaction that counts the failure, on every such report: receivers
# decide how often to tell anyone.
embed_failing = Signal()
