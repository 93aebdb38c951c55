"""Signals the accounts app sends; other parts of the site react without accounts importing them.

`sign_ins_ended` is sent, after the transaction commits, whenever every sign-in of a member must stop:
the password changed (whatever path changed it: the site, the API, a reset link, the admin, the
`changepassword` command) or the account was deactivated. Receivers revoke API refresh tokens, end the
member's other sessions and close open sockets and event streams.

Arguments: `user` (the saved instance), `reason` ("password" or "deactivated").
"""

from django.dispatch import Signal

sign_ins_ended = Signal()
