"""The Settings page's "Email" section: per-kind choices and "No email at all", saved through a
service with a per-member rate limit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from social.models import EmailPreference

pytestmark = pytest.mark.django_db

SAVE = reverse("social:email-preferences")


def choices(user) -> dict[str, bool]:
    preference = EmailPreference.objects.get(user=user)
    return {kind: getattr(preference, kind) for kind in EmailPreference.KINDS}


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def test_the_settings_page_shows_the_email_section_with_every_kind_on_by_default(signed_in):
    page = signed_in.get(reverse("accounts:settings")).content.decode()
    assert 'id="email"' in page
    assert f'action="{SAVE}"' in page
    for kind in ("comments", "followers", "featured", "digest"):
        assert f'name="{kind}" id="id_{kind}" checked' in page
    assert 'name="none" id="id_none">' in page  # not ticked
    assert "We email only a verified address" not in page


def test_the_section_shows_saved_choices_and_none_when_all_are_off(signed_in, owner):
    EmailPreference.objects.create(
        user=owner, comments=False, followers=False, featured=False, digest=False
    )
    page = signed_in.get(reverse("accounts:settings")).content.decode()
    assert 'name="comments" id="id_comments">' in page
    assert 'name="none" id="id_none" checked' in page


def test_an_unverified_member_is_told_nothing_is_sent_yet(signed_in, owner):
    type(owner).objects.filter(pk=owner.pk).update(email_verified=False)
    page = signed_in.get(reverse("accounts:settings")).content.decode()
    assert "We email only a verified address" in page


def test_saving_the_choices(signed_in, owner):
    response = signed_in.post(SAVE, {"comments": "on", "digest": "on"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:settings") + "#email"
    assert choices(owner) == {
        "comments": True,
        "followers": False,
        "featured": False,
        "digest": True,
    }
    page = signed_in.get(response["Location"]).content.decode()
    assert "Your email choices are saved." in page


def test_no_email_at_all_turns_every_kind_off(signed_in, owner):
    signed_in.post(SAVE, {"comments": "on", "followers": "on", "none": "on"})
    assert choices(owner) == dict.fromkeys(EmailPreference.KINDS, False)


def test_saving_keeps_where_the_last_email_stopped(signed_in, owner):
    EmailPreference.objects.create(user=owner, last_emailed_id=41)
    signed_in.post(SAVE, {"comments": "on"})
    assert EmailPreference.objects.get(user=owner).last_emailed_id == 41


def test_saving_is_rate_limited_per_member(signed_in, settings, fresh_minute):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "email": 2}
    statuses = [signed_in.post(SAVE, {"digest": "on"}).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]


def test_a_get_goes_to_the_section(signed_in):
    response = signed_in.get(SAVE)
    assert response["Location"] == reverse("accounts:settings") + "#email"


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.post(SAVE, {"digest": "on"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert not EmailPreference.objects.exists()
