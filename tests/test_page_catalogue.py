"""The page catalogue (tests/page_catalogue.py) covers every page template: each visit answers its
status with the template it names, and every page template under templates/ is named by a visit.
A new page without a catalogue entry fails here, before the browser tests would miss it."""

from __future__ import annotations

from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import HTTPRedirectHandler, build_opener

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests import page_catalogue
from tests.page_catalogue import CSRF_SECRET, VISITOR, Visit, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


class _NoRedirects(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _outside(url: str):
    """A redirect off the site (a sign-in provider's stand-in), followed as a browser would, until
    it comes back: the address it comes back to."""
    while urlsplit(url).netloc not in ("", "testserver"):
        try:
            build_opener(_NoRedirects).open(url, timeout=5)
        except HTTPError as answer:
            url = answer.headers["Location"]
            continue
        raise AssertionError(f"{url} did not send the browser back")
    return url


def _client(site, who: str) -> Client:
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.cookies["csrftoken"] = CSRF_SECRET
    if who != VISITOR:
        person = site.people[who]
        client.cookies["sessionid"] = session_cookie(person, second_factor=person.mfa_enabled)
    return client


def _visit(client: Client, visit: Visit):
    body = visit.body()
    if body is None:
        response = client.get(visit.path)
    elif visit.multipart:
        files = {
            key: SimpleUploadedFile(f"{key}.png", value.encode(), "image/png")
            for key, value in body.items()
            if key != "csrfmiddlewaretoken"
        }
        response = client.post(visit.path, {"csrfmiddlewaretoken": CSRF_SECRET, **files})
    else:
        response = client.post(visit.path, body)
    while response.status_code in (301, 302, 303) and visit.status not in (301, 302, 303):
        response = client.get(_outside(response["Location"]))
    return response


@pytest.fixture
def answers(settings) -> dict[tuple[str, str], tuple[int, set[str], Visit]]:
    """Every visit of the catalogue, made with Django's test client: (page, who) -> (status, the
    templates it rendered, the visit)."""
    with page_catalogue.configured(settings) as providers:
        site = page_catalogue.build(settings, providers)
        clients: dict[str, Client] = {}
        found = {}
        for visit in site.visits:
            for who in visit.who:
                client = clients.setdefault(who, _client(site, who))
                response = _visit(client, visit)
                used = {template.name for template in response.templates if template.name}
                found[visit.name, who] = (response.status_code, used, visit)
        return found


def test_every_visit_answers_its_status_with_the_template_it_names(answers):
    """The status for everyone who visits it; the template at least once (a page cached for
    everyone is rendered for the first visitor only, then only its per-viewer parts)."""
    wrong = [
        f"{name} as {who}: {status}, not {visit.status}"
        for (name, who), (status, _, visit) in answers.items()
        if status != visit.status
    ]
    rendered: dict[str, set[str]] = {}
    for (name, _), (_, used, _visit) in answers.items():
        rendered.setdefault(name, set()).update(used)
    wrong += [
        f"{name} never rendered {visit.template}: {sorted(rendered[name])}"
        for (name, _), (_, _, visit) in answers.items()
        if visit.template not in rendered[name]
    ]
    assert wrong == []


def test_every_page_template_is_shown_by_a_visit_of_the_catalogue(answers):
    shown = set().union(*(used for _, used, _ in answers.values()))
    assert page_catalogue.page_templates() - shown == set()


def test_the_catalogue_has_the_admins_workbook_form_the_featured_form_and_a_page_as_staff(answers):
    """Django's change forms are ours too where we add to them (the workbook's `listed` box, the
    Featured inline), and the account menu has a link more for staff, shown opened: axe checks each."""
    for name in ("admin-workbook", "admin-featured-add"):
        status, used, visit = answers[name, "staff"]
        assert (status, visit.template in used) == (200, True), name
    assert answers["admin-workbook", "staff"][2].path.endswith("/change/")
    status, _, menu = answers["explore-staff-menu", "staff"]
    assert (status, menu.open) == (200, "[data-testid=user-menu]")
