"""Signals the accounts app sends; other parts of the site react without accounts importing them.

`sign_ins_ended` is sent, after the transaction commits, whenever every sign-in of a member must stop:
the password changed (whatever path changed it: the site, the API, a reset link, the admin, the
`changepassword` command), the email address changed (accounts.verification) or the account was
deactivated. Receivers revoke API refresh tokens, end the
member's other sessions and close open sockets and event streams.

Arguments: `user` (the saved instance; after an account deletion, an unsaved stand-in with its id),
`reason` ("password", "email_changed", "deactivated", "second_factor_on", "suspended" or
"deleted").

`member_changed` is sent by accounts' services and its admin, right after they save a member's row
(inside their transaction, if any), with what other apps show of a member or depend on: their names,
bio, website, whether the account is active. Nothing else sends it: a change made another way (the
shell) is not announced.

Arguments: `user` (the saved instance), `fields` (a frozenset of the names of the fields changed).

`member_deleting` is sent by accounts' admin and by `accounts.services.delete_account` (a member
deleting their own account) just before the member's row is deleted (inside the deleting
transaction): what the row takes with it by cascade (their workbooks) is still there to
look at.

Arguments: `user` (the instance about to be deleted).
"""

from django.dispatch import Signal

sign_ins_ended = Signal()
member_changed = Signal()
member_deleting = Signal()
