"""What media tells the apps that show its pictures.

media knows an image, its owner, its variants and its reference: the kind of picture ("avatar",
"thumbnail") and the key of the row that shows it (its holder). Whoever keeps such a row connects
here in its AppConfig.ready and keeps its own field and caches up to date; media imports none of
them.
"""

from __future__ import annotations

from django.dispatch import Signal

# The picture a holder shows changed: a new one is ready, or it was removed. Sent with `kind`,
# `holder` (the row's key, a string) and `ref`, what the row keeps to show the picture
# (Image.ref(), read back by storage.Picture.from_ref), or None for no picture. Sent inside the
# transaction that makes the change, after the holder's lock is taken (services.hold), so a
# receiver's write is part of it. The receiver that keeps rows of `kind` returns False when the
# holder's row is not there (deleted while the upload was being accepted): the new picture is then
# removed rather than put in use; any other answer keeps it.
picture_changed = Signal()
