"""A multipart body that holds no part is refused as malformed (400) instead of being read as an
empty form, which would make a PATCH of garbage succeed as a change of nothing."""

import pytest

from tests.factories import CollectionFactory

BOUNDARY = "1417de40992f18d9a4451871d16b2379"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture
def collection(user):
    return CollectionFactory(owner=user, title="Kept as it was")


@pytest.mark.django_db
def test_a_multipart_body_without_a_part_is_a_400(auth_client, collection):
    response = auth_client.patch(
        f"/api/v1/collections/{collection.pk}/", f"-2428--{BOUNDARY}--\r\n", content_type=MULTIPART
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    collection.refresh_from_db()
    assert collection.title == "Kept as it was"


@pytest.mark.django_db
def test_a_multipart_form_with_no_field_is_still_an_empty_change(auth_client, collection):
    response = auth_client.patch(
        f"/api/v1/collections/{collection.pk}/", f"--{BOUNDARY}--\r\n", content_type=MULTIPART
    )

    assert response.status_code == 200
    assert response.json()["title"] == "Kept as it was"


@pytest.mark.django_db
def test_a_multipart_form_with_a_field_is_read(auth_client, collection):
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\nRenamed\r\n'
        f"--{BOUNDARY}--\r\n"
    )

    response = auth_client.patch(
        f"/api/v1/collections/{collection.pk}/", body, content_type=MULTIPART
    )

    assert response.status_code == 200
    assert response.json()["title"] == "Renamed"
