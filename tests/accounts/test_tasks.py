from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework_simplejwt import state
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts import tokens
from accounts.models import TokenFamily
from accounts.tasks import flush_expired_tokens
from tests.factories import UserFactory


@pytest.mark.django_db
def test_housekeeping_drops_expired_tokens_and_sign_ins_past_the_cap(settings):
    user = UserFactory()
    live = tokens.issue_tokens(user)
    old_pair = tokens.issue_tokens(user)
    old_family = TokenFamily.objects.get(pk=state.token_backend.decode(old_pair.refresh)["fam"])
    TokenFamily.objects.filter(pk=old_family.pk).update(
        created_at=timezone.now() - settings.JWT_REFRESH_ABSOLUTE_LIFETIME - timedelta(minutes=1)
    )
    OutstandingToken.objects.filter(user=user).exclude(token=live.refresh).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert flush_expired_tokens() >= 1

    assert not TokenFamily.objects.filter(pk=old_family.pk).exists()
    assert OutstandingToken.objects.filter(user=user).count() == 1
    # The live sign-in is untouched and still refreshes.
    assert tokens.rotate(live.refresh).refresh
    with pytest.raises(tokens.RefreshRejected):
        tokens.rotate(old_pair.refresh)
