"""Sessions read from the cache, written to the database first, and never trusted past what the
database says (SESSION_ENGINE).

The database holds every session, as with Django's `db` engine; the cache (Redis) holds a copy of
each, so a member's page does not read the session row. The cache fails open
(sigma_playground.cache): a copy it failed to delete or overwrite, with Redis stalled or refusing,
is still there when Redis answers again. So a copy counts only as far as the member's own row, read
from the database on every request anyway, vouches for it:

- each copy carries the member's `session_fence` as it was read *before* the session row the copy
  was made from (`vouch`);
- ending a signed-in session (sign-out, a new key at sign-in) deletes the row, then raises the
  member's fence, whatever became of the cached copy; so does a save whose copy the cache failed to
  update (a failed write of a copy just read again leaves nothing under the current fence, and
  raises nothing: while Redis refuses writes, pages do not write the member's row);
- a copy whose fence is not the member's current one is not used: the row is read again, after the
  member's (so a sign-out between the two reads is seen), and cached with that fence;
- a new key gets no copy until the data saved under it is final (not the visitor's data at sign-in);
- the copy is checked against the member's row before any view runs, whenever a session cookie is
  sent (accounts.middleware), so no view decides on, writes into, or saves an unchecked copy.

A signed-out session therefore never comes back from the cache, after an outage or a failed
delete, in any process: the database says the fence moved. Password changes and deactivations end
sessions through the member's row as before (its auth hash, `is_active`). A visitor's session names
no member and is used from the cache as it is.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db.models import F

from sigma_playground.cache import last_call_failed

from .models import User

KEY_PREFIX = "accounts.session:"


class SessionStore(DBStore):
    def __init__(self, session_key: str | None = None) -> None:
        self._cache = caches[settings.SESSION_CACHE_ALIAS]
        # The member's fence the data in hand is vouched for; None: not vouched for (read from the
        # database before the member's row was, or cached with no fence).
        self._fence: int | None = None
        self._from_database = False
        super().__init__(session_key)

    def _cache_key(self, session_key: str) -> str:
        return KEY_PREFIX + session_key

    # Called once, right after the data is first loaded, before anyone reads or writes it
    # (accounts.middleware sets it to look the member up and vouch for the data).
    on_first_load: Any = None

    def _get_session(self, no_load: bool = False) -> dict[str, Any]:
        loading = not hasattr(self, "_session_cache") and not no_load
        data: dict[str, Any] = super()._get_session(no_load)  # type: ignore[misc]  # SessionBase's
        if loading and self.on_first_load is not None:
            hook, self.on_first_load = self.on_first_load, None
            hook()
            data = self._session_cache  # vouching may have read the row again
        return data

    _session = property(_get_session)

    # The copy read ahead with a page (workbooks.cache.shared), if any: (key, what the cache held).
    _read_ahead: tuple[str, Any] | None = None

    def read_ahead_key(self) -> str | None:
        """The key `load()` will read from the default cache, while the data is not loaded yet:
        a page may read it with its own keys, in one cache read, and hand it over (`read_ahead`)."""
        if (
            self.session_key is None
            or hasattr(self, "_session_cache")
            or settings.SESSION_CACHE_ALIAS != DEFAULT_CACHE_ALIAS
        ):
            return None
        return self._cache_key(self.session_key)

    def read_ahead(self, key: str, value: Any) -> None:
        """What the cache held under `key` (None: nothing), read since this request began: the next
        `load()` uses it instead of reading the cache again. The copy is vouched for as any other."""
        self._read_ahead = (key, value)

    def load(self) -> dict[str, Any]:
        if self.session_key is not None:
            key = self._cache_key(self.session_key)
            ahead, self._read_ahead = self._read_ahead, None
            kept = ahead[1] if ahead is not None and ahead[0] == key else self._cache.get(key)
            if isinstance(kept, tuple) and len(kept) == 2:
                data, self._fence = kept
                self._from_database = False
                return data
        return self._read_row(fence=None)

    def vouch(self, user: Any) -> None:
        """Make the data in hand what the database holds, as far as `user`'s row (just read) can
        tell: a cached copy made under their current fence is used; anything else is read again
        now, after their row, and cached with that fence. The caller then checks that the data
        still names `user` (it is empty when the session has ended)."""
        if not self._from_database and self._fence == user.session_fence:
            return
        self._session_cache = self._read_row(fence=user.session_fence)

    def _read_row(self, fence: int | None) -> dict[str, Any]:
        # A missing or expired row forgets the key. (Django's method, not in the stubs.)
        row = self._get_session_from_db()  # type: ignore[attr-defined]
        data = self.decode(row.session_data) if row else {}
        self._from_database = True
        self._fence = fence
        if row is not None and (fence is not None or SESSION_KEY not in data):
            # A member's copy only with the fence read before this row; a visitor's as it is. A
            # failed write here leaves no copy under this fence (what the cache may still hold was
            # made under an older one, or it would not have been read again), so it raises nothing.
            self._keep(data, fence, self.get_expiry_age(expiry=row.expire_date), on_failure=False)
        return data

    def save(self, must_create: bool = False) -> None:
        super().save(must_create)
        if not must_create:
            # Not the data create() puts under a new key (at sign-in, the visitor's, before the
            # member's are saved): were only the member's copy to fail, that one would be left
            # under the key. The key's next read takes the row.
            self._keep(self._session, self._fence, self.get_expiry_age())

    def delete(self, session_key: str | None = None) -> None:
        member = None
        if session_key in (None, self.session_key):  # this session's data is in hand, if loaded
            member = (getattr(self, "_session_cache", None) or {}).get(SESSION_KEY)
        super().delete(session_key)
        session_key = session_key or self.session_key
        if session_key is not None:
            self._cache.delete(self._cache_key(session_key))
        if member is not None:
            # After the row is gone: whatever the cache may still hold of it is not vouched for.
            _raise_fence(member)

    def cycle_key(self) -> None:
        member = self._session.get(SESSION_KEY)
        super().cycle_key()  # the data under a new key, the old row deleted
        if member is not None:
            _raise_fence(member)

    def flush(self) -> None:
        member = self._session.get(SESSION_KEY)  # flush() clears the data before it deletes
        super().flush()
        if member is not None:
            _raise_fence(member)

    def _keep(
        self, data: dict[str, Any], fence: int | None, seconds: int, on_failure: bool = True
    ) -> None:
        if self.session_key is None:
            return
        self._cache.set(self._cache_key(self.session_key), (data, fence), seconds)
        member = data.get(SESSION_KEY)
        if on_failure and member is not None and last_call_failed(self._cache):
            # An older copy may still be there under the same fence.
            _raise_fence(member)


def _raise_fence(member: Any) -> None:
    User.objects.filter(pk=member).update(session_fence=F("session_fence") + 1)
