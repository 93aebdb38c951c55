"""The workbook page's loading state and embed snippet, as markup: "Open in Sigma" is there from the
first byte (not only once a timeout shows a fallback), each control has a name, and the snippet's
Copy button has a status to report into."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory, WorkbookFactory
from tests.workbooks.markup import Element, page

PUBLIC_URL = "https://app.sigmacomputing.com/embed/1-Loading01"


def ancestors_of(root: Element, target: Element) -> list[Element]:
    """The elements from the root down to (not including) target."""

    def walk(element: Element, path: list[Element]) -> list[Element] | None:
        for child in element.children:
            if not isinstance(child, Element):
                continue
            if child is target:
                return path
            found = walk(child, [*path, child])
            if found is not None:
                return found
        return None

    found = walk(root, [])
    assert found is not None
    return found


@pytest.fixture
def workbook(db):
    return WorkbookFactory(author=UserFactory(), title="Loading slowly", embed_url=PUBLIC_URL)


@pytest.mark.django_db
def test_the_loading_state_offers_open_in_sigma_at_once(client, workbook):
    document = page(client.get(workbook.get_absolute_url()))
    [section] = [s for s in document.find_all("section") if "data-sigma-embed" in s.attrs]

    # One link, shown while loading and kept on a failure: never inside anything hidden.
    [link] = [a for a in section.find_all("a") if a.text.strip() == "Open in Sigma"]
    assert link.attrs["href"] == PUBLIC_URL
    assert link.attrs["target"] == "_blank"
    assert "noopener" in (link.attrs["rel"] or "")
    assert "hidden" not in link.attrs
    assert all("hidden" not in element.attrs for element in ancestors_of(section, link))

    notice = section.find("div", class_="embed__notice")
    status = notice.find(role="status")
    assert status.text.strip() == "Loading the workbook from Sigma…"
    assert notice.find("span", class_="embed__spinner").attrs["aria-hidden"] == "true"
    # The failure message waits in the same notice, hidden, to be announced when shown.
    [fallback] = [e for e in notice.iter() if "data-embed-fallback" in e.attrs]
    assert "hidden" in fallback.attrs
    assert fallback.attrs["role"] == "alert"


@pytest.mark.django_db
def test_the_snippet_has_a_label_a_named_copy_button_and_a_status(client, workbook):
    document = page(client.get(workbook.get_absolute_url()))
    snippet = document.find("div", class_="snippet")

    textarea = snippet.find("textarea", id="embed-snippet")
    assert "snippet__code" in textarea.classes
    assert "readonly" in textarea.attrs
    [label] = [e for e in snippet.find_all("label") if e.attrs.get("for") == "embed-snippet"]
    assert label.text.strip() == "Embed"
    copy = snippet.find("button", data_copy="embed-snippet")
    assert copy.attrs["aria-label"] == "Copy the embed code"
    assert copy.text.strip() == "Copy"
    assert "hidden" in copy.attrs  # shown by embed.js only where there is a clipboard
    status = snippet.find(data_copy_status="embed-snippet")
    assert status.attrs["role"] == "status"
    assert status.text == ""
