"""The demo accounts `make run` prints hold the roles their names say."""

import pytest
from django.core.management import call_command

from accounts.models import User
from accounts.roles import CURATORS_GROUP, MODERATORS_GROUP


@pytest.mark.django_db
def test_seeding_gives_each_demo_account_its_role(settings):
    settings.DEBUG = True  # seed_demo refuses to make known-password accounts otherwise
    call_command("seed_demo", verbosity=0)

    def groups(username):
        return set(User.objects.get(username=username).groups.values_list("name", flat=True))

    assert groups("curator") == {CURATORS_GROUP}
    assert groups("moderator") == {MODERATORS_GROUP}
    assert groups("ada") == set()
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="moderator").has_perm("social.delete_comment")
    assert not User.objects.get(username="curator").has_perm("social.delete_comment")
