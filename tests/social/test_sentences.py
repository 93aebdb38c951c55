"""The sentence of each feed item and of each notification (social.sentences, by way of the
partials social/inc/activity_text.html and notification_text.html) is the very markup the partials
made when they were written out in template tags: every verb, with and without its workbook, a
notification without an actor, a draft its recipient may or may not open, a comment's anchor. Names
and titles carry markup, which comes out escaped.

The rows of those tests are never saved and the tests have no database: a query (for a field or a
row the selectors would not have loaded) fails them. The last test renders the rows the pages list."""

import pytest
from django.template.loader import render_to_string

from accounts.models import User
from social import selectors, sentences, services
from social.models import Activity, Notification
from tests.factories import UserFactory, WorkbookFactory
from workbooks.models import Workbook

ADA = User(pk=1, username="ada", full_name='Ada <Lovelace> & "co"')
GRACE = User(pk=2, username="grace", full_name="")  # shown by her username
PUBLISHED = Workbook(
    pk=7,
    slug="revenue-by-region",
    title="Revenue <b>&</b> 'region'",
    status=Workbook.Status.PUBLISHED,
    author_id=GRACE.pk,
)
DRAFT = Workbook(pk=8, slug="unfinished", title="Unfinished", status="draft", author_id=ADA.pk)

# Each activity as (workbook, followed member).
ACTIVITY_CASES = {
    "workbook": (PUBLISHED, None),
    "no-workbook": (None, None),
    "subject": (None, GRACE),
    "subject+workbook": (PUBLISHED, GRACE),
}
# Each notification, to Grace unless said otherwise, as (actor, workbook, comment id, recipient).
NOTIFICATION_CASES = {
    "workbook": (ADA, PUBLISHED, None, GRACE),
    "no-actor": (None, PUBLISHED, None, GRACE),
    "no-workbook": (ADA, None, None, GRACE),
    "comment": (ADA, PUBLISHED, 42, GRACE),
    "draft-not-mine": (ADA, DRAFT, None, GRACE),
    "draft-mine": (GRACE, DRAFT, 5, ADA),
}

ACTIVITY_TEXTS = [
    (
        "followed",
        "workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> followed you '
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "followed",
        "no-workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> followed you\n',
    ),
    (
        "followed",
        "subject",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> followed '
        '<a href="/u/grace/">grace</a>\n',
    ),
    (
        "followed",
        "subject+workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> followed '
        '<a href="/u/grace/">grace</a>\n',
    ),
    (
        "favorited",
        "workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> favorited '
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "favorited",
        "no-workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> favorited your workbook\n',
    ),
    (
        "favorited",
        "subject",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> favorited your workbook\n',
    ),
    (
        "favorited",
        "subject+workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> favorited '
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "commented",
        "workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> commented on '
        '<a href="/w/revenue-by-region/#comments">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "commented",
        "no-workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> commented on your workbook\n',
    ),
    (
        "commented",
        "subject",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> commented on your workbook\n',
    ),
    (
        "commented",
        "subject+workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> commented on '
        '<a href="/w/revenue-by-region/#comments">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "published",
        "workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> published '
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "published",
        "no-workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> published a workbook\n',
    ),
    (
        "published",
        "subject",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> published a workbook\n',
    ),
    (
        "published",
        "subject+workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> published '
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "featured",
        "workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> featured your workbook '
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "featured",
        "no-workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> featured your workbook\n',
    ),
    (
        "featured",
        "subject",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> featured your workbook\n',
    ),
    (
        "featured",
        "subject+workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> featured your workbook '
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
]

NOTIFICATION_TEXTS = [
    (
        "followed",
        "workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> followed you\n',
    ),
    (
        "followed",
        "no-actor",
        "Someone followed you\n",
    ),
    (
        "followed",
        "no-workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> followed you\n',
    ),
    (
        "followed",
        "comment",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> followed you\n',
    ),
    (
        "followed",
        "draft-not-mine",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> followed you\n',
    ),
    (
        "followed",
        "draft-mine",
        '<a href="/u/grace/">grace</a> followed you\n',
    ),
    (
        "favorited",
        "workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> favorited '
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "favorited",
        "no-actor",
        "Someone favorited "
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "favorited",
        "no-workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> favorited your workbook\n',
    ),
    (
        "favorited",
        "comment",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> favorited '
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "favorited",
        "draft-not-mine",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> favorited your workbook\n',
    ),
    (
        "favorited",
        "draft-mine",
        '<a href="/u/grace/">grace</a> favorited <a href="/w/unfinished/">Unfinished</a>\n',
    ),
    (
        "commented",
        "workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> commented on '
        '<a href="/w/revenue-by-region/#comments">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "commented",
        "no-actor",
        "Someone commented on "
        '<a href="/w/revenue-by-region/#comments">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "commented",
        "no-workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> commented on your workbook\n',
    ),
    (
        "commented",
        "comment",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> commented on '
        '<a href="/w/revenue-by-region/#comment-42">'
        "Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n",
    ),
    (
        "commented",
        "draft-not-mine",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> commented on your workbook\n',
    ),
    (
        "commented",
        "draft-mine",
        '<a href="/u/grace/">grace</a> commented on '
        '<a href="/w/unfinished/#comment-5">Unfinished</a>\n',
    ),
    (
        "published",
        "workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> published '
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "published",
        "no-actor",
        "Someone published "
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "published",
        "no-workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> published a workbook\n',
    ),
    (
        "published",
        "comment",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> published '
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "published",
        "draft-not-mine",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> published a workbook\n',
    ),
    (
        "published",
        "draft-mine",
        '<a href="/u/grace/">grace</a> published <a href="/w/unfinished/">Unfinished</a>\n',
    ),
    (
        "featured",
        "workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> featured '
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "featured",
        "no-actor",
        "Someone featured "
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "featured",
        "no-workbook",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> featured your workbook\n',
    ),
    (
        "featured",
        "comment",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> featured '
        '<a href="/w/revenue-by-region/">Revenue &lt;b&gt;&amp;&lt;/b&gt; &#x27;region&#x27;</a>\n',
    ),
    (
        "featured",
        "draft-not-mine",
        '<a href="/u/ada/">Ada &lt;Lovelace&gt; &amp; &quot;co&quot;</a> featured your workbook\n',
    ),
    (
        "featured",
        "draft-mine",
        '<a href="/u/grace/">grace</a> featured <a href="/w/unfinished/">Unfinished</a>\n',
    ),
]


def case_id(case: tuple) -> str:
    return f"{case[0]}-{case[1]}"


@pytest.mark.parametrize(
    ("verb", "case", "expected"), ACTIVITY_TEXTS, ids=map(case_id, ACTIVITY_TEXTS)
)
def test_a_feed_item_reads_as_the_written_out_partial_made_it(verb, case, expected):
    workbook, subject = ACTIVITY_CASES[case]
    item = Activity(actor=ADA, verb=verb, workbook=workbook, subject=subject)

    assert render_to_string("social/inc/activity_text.html", {"item": item}) == expected


@pytest.mark.parametrize(
    ("verb", "case", "expected"), NOTIFICATION_TEXTS, ids=map(case_id, NOTIFICATION_TEXTS)
)
def test_a_notification_reads_as_the_written_out_partial_made_it(verb, case, expected):
    actor, workbook, comment_id, recipient = NOTIFICATION_CASES[case]
    item = Notification(
        actor=actor, verb=verb, workbook=workbook, comment_id=comment_id, recipient=recipient
    )

    assert render_to_string("social/inc/notification_text.html", {"item": item}) == expected


def test_the_rows_the_pages_list_make_their_sentences_without_a_query(
    db, django_assert_num_queries
):
    reader = UserFactory(username="reader", full_name="Reader")
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    workbook = WorkbookFactory(author=reader, title="Revenue by region")
    services.follow(reader, ada)
    services.follow(ada, reader)
    services.favorite(ada, workbook)
    comment = services.add_comment(ada, workbook, "Lovely.")
    feed = list(selectors.feed_rows(reader))
    notifications = list(selectors.notification_rows(reader))

    with django_assert_num_queries(0):
        feed_texts = [sentences.activity_sentence(item) for item in feed]
        notification_texts = [sentences.notification_sentence(item) for item in notifications]

    ada_link = '<a href="/u/ada/">Ada Lovelace</a>'
    assert feed_texts == [
        f'{ada_link} commented on <a href="/w/{workbook.slug}/#comments">Revenue by region</a>',
        f'{ada_link} favorited <a href="/w/{workbook.slug}/">Revenue by region</a>',
        f'{ada_link} followed <a href="/u/reader/">Reader</a>',
    ]
    assert notification_texts == [
        f'{ada_link} commented on <a href="/w/{workbook.slug}/#comment-{comment.pk}">'
        "Revenue by region</a>",
        f'{ada_link} favorited <a href="/w/{workbook.slug}/">Revenue by region</a>',
        f"{ada_link} followed you",
    ]
