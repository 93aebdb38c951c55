"""What search keeps beside the entries: the typo vocabulary holds only words of published
workbooks, and a tag's workbooks are indexed again only when its name changes."""

import pytest

from tests.factories import WorkbookFactory
from workbooks import selectors, services
from workbooks.models import Tag


def titles(query: str, **params) -> set[str]:
    return {w.title for w in selectors.search(selectors.Search(query=query, **params))}


@pytest.mark.django_db(transaction=True)  # the entries are made again once the change commits
def test_a_tag_saved_under_the_same_name_does_not_index_its_workbooks_again(monkeypatch):
    WorkbookFactory(title="Quarterly numbers", tags=["Zeppelin"])
    tag = Tag.objects.get(slug="zeppelin")
    refreshed = []
    monkeypatch.setattr(services, "refresh_search_entries", lambda w: refreshed.append(list(w)))

    tag.slug = "zeppelins"
    tag.save()  # as the admin saves: every field, the name unchanged
    Tag.objects.get(pk=tag.pk).save()
    assert refreshed == []

    tag.name = "Dirigible"
    tag.save()
    assert [[w.title for w in workbooks] for workbooks in refreshed] == [["Quarterly numbers"]]
