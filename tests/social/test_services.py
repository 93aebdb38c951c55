"""social.services: counters, notifications and who may do what, below any view."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from social import push, services, tasks
from social.models import Activity, Comment, Favorite, Follow, Notification, Verb
from tests.factories import UserFactory, WorkbookFactory
from workbooks import services as workbook_services
from workbooks.models import DailyActivity, Workbook

EMBED = "https://app.sigmacomputing.com/embed/1-FanOut000001"


def counts(user: User) -> tuple[int, int, int]:
    user.refresh_from_db()
    return user.follower_count, user.following_count, user.favorite_count


def notifications_of(user: User) -> list[tuple[str, str]]:
    """(verb, actor's username) of each of the user's notifications, oldest first."""
    return [
        (n.verb, n.actor.username)
        for n in Notification.objects.filter(recipient=user).select_related("actor").order_by("pk")
    ]


def age(queryset, by: timedelta) -> None:
    """Pretend the rows were made `by` ago."""
    queryset.update(created_at=timezone.now() - by)


# --- Follow ---------------------------------------------------------------------------------------


def test_following_counts_once_on_each_side(owner, outsider):
    assert services.follow(outsider, owner) is True
    assert services.follow(outsider, owner) is False

    assert counts(owner) == (1, 0, 0)
    assert counts(outsider) == (0, 1, 0)
    assert Follow.objects.count() == 1


def test_unfollowing_counts_down_once(owner, outsider):
    services.follow(outsider, owner)

    assert services.unfollow(outsider, owner) is True
    assert services.unfollow(outsider, owner) is False

    assert counts(owner) == (0, 0, 0)
    assert counts(outsider) == (0, 0, 0)


def test_it_refuses_to_let_a_member_follow_themselves(owner):
    with pytest.raises(ValidationError) as refused:
        services.follow(owner, owner)

    assert refused.value.code == "self_follow"
    assert counts(owner) == (0, 0, 0)


def test_the_database_refuses_a_self_follow_too(owner):
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=owner, followee=owner)


def test_the_database_refuses_a_second_follow_of_the_same_member(owner, outsider):
    Follow.objects.create(follower=outsider, followee=owner)

    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=outsider, followee=owner)


def test_following_notifies_the_member_followed_and_records_an_activity(owner, outsider):
    services.follow(outsider, owner)

    assert notifications_of(owner) == [("followed", "outsider")]
    assert notifications_of(outsider) == []
    activity = Activity.objects.get()
    assert (activity.actor, activity.verb, activity.subject) == (outsider, "followed", owner)


def test_unfollowing_within_the_undo_window_takes_the_notification_back(owner, outsider):
    services.follow(outsider, owner)
    services.unfollow(outsider, owner)

    assert notifications_of(owner) == []
    assert not Activity.objects.exists()


def test_unfollowing_after_the_undo_window_leaves_the_notification(owner, outsider):
    services.follow(outsider, owner)
    age(Notification.objects.all(), services.UNDO_WINDOW + timedelta(minutes=1))

    services.unfollow(outsider, owner)

    assert notifications_of(owner) == [("followed", "outsider")]


def test_undoing_takes_back_only_the_undoer_s_notification(owner, outsider):
    third = UserFactory(username="third")
    services.follow(outsider, owner)
    services.follow(third, owner)

    services.unfollow(outsider, owner)

    assert notifications_of(owner) == [("followed", "third")]


# --- Favorite -------------------------------------------------------------------------------------


def test_favoriting_counts_once_on_the_workbook_the_member_and_the_day(workbook, outsider):
    assert services.favorite(outsider, workbook) is True
    assert services.favorite(outsider, workbook) is False

    workbook.refresh_from_db()
    assert workbook.favorite_count == 1
    assert counts(outsider) == (0, 0, 1)
    assert DailyActivity.objects.get(workbook=workbook).favorites == 1
    assert Favorite.objects.count() == 1


def test_unfavoriting_counts_down_once(workbook, outsider):
    services.favorite(outsider, workbook)

    assert services.unfavorite(outsider, workbook) is True
    assert services.unfavorite(outsider, workbook) is False

    workbook.refresh_from_db()
    assert workbook.favorite_count == 0
    assert counts(outsider) == (0, 0, 0)
    assert DailyActivity.objects.get(workbook=workbook).favorites == 0


def test_favoriting_notifies_the_author(workbook, owner, outsider):
    services.favorite(outsider, workbook)

    assert notifications_of(owner) == [("favorited", "outsider")]
    assert Notification.objects.get().workbook == workbook


def test_unfavoriting_within_the_undo_window_takes_the_notification_back(workbook, owner, outsider):
    services.favorite(outsider, workbook)
    services.unfavorite(outsider, workbook)

    assert notifications_of(owner) == []
    assert not Activity.objects.filter(verb="favorited").exists()


def test_unfavoriting_after_the_undo_window_leaves_the_notification(workbook, owner, outsider):
    services.favorite(outsider, workbook)
    age(Notification.objects.all(), services.UNDO_WINDOW + timedelta(minutes=1))

    services.unfavorite(outsider, workbook)

    assert notifications_of(owner) == [("favorited", "outsider")]


def test_nobody_is_notified_of_their_own_favorite_or_comment(workbook, owner):
    services.favorite(owner, workbook)
    services.add_comment(owner, workbook, "Notes to self.")

    assert Notification.objects.count() == 0


# --- Muted verbs ----------------------------------------------------------------------------------


def test_a_muted_verb_is_not_notified_and_others_still_are(workbook, owner, outsider):
    services.set_muted_verbs(owner, ["favorited", "not-a-verb"])

    services.favorite(outsider, workbook)
    services.follow(outsider, owner)

    assert notifications_of(owner) == [("followed", "outsider")]


def test_setting_muted_verbs_replaces_the_previous_set(workbook, owner, outsider):
    services.set_muted_verbs(owner, ["favorited", "commented"])
    services.set_muted_verbs(owner, ["commented"])

    services.favorite(outsider, workbook)
    services.add_comment(outsider, workbook, "Nice.")

    assert notifications_of(owner) == [("favorited", "outsider")]


# --- Comments -------------------------------------------------------------------------------------


def test_commenting_counts_and_notifies_the_author(workbook, owner, outsider):
    comment = services.add_comment(outsider, workbook, "  Lovely charts.  ")

    assert comment.body == "Lovely charts."
    workbook.refresh_from_db()
    assert workbook.comment_count == 1
    notification = Notification.objects.get()
    assert (notification.verb, notification.comment) == ("commented", comment)


def test_deleting_a_comment_counts_down_and_takes_its_notification(workbook, owner, outsider):
    comment = services.add_comment(outsider, workbook, "Lovely charts.")

    services.delete_comment(outsider, comment)

    workbook.refresh_from_db()
    assert workbook.comment_count == 0
    assert notifications_of(owner) == []


@pytest.mark.parametrize("body", ["", "   \n ", "x" * (Comment.MAX_LENGTH + 1)])
def test_it_refuses_a_blank_or_too_long_comment(workbook, outsider, body):
    with pytest.raises(ValidationError):
        services.add_comment(outsider, workbook, body)

    assert not Comment.objects.exists()


def test_its_author_may_edit_a_comment_within_the_window(workbook, outsider):
    comment = services.add_comment(outsider, workbook, "Lovely charts.")

    services.edit_comment(outsider, comment, "Lovely charts!")

    comment.refresh_from_db()
    assert comment.body == "Lovely charts!"
    assert comment.edited_at is not None


def test_nobody_may_edit_a_comment_after_the_window(workbook, outsider):
    comment = services.add_comment(outsider, workbook, "Lovely charts.")
    age(Comment.objects.all(), Comment.EDIT_WINDOW + timedelta(seconds=1))
    comment.refresh_from_db()

    with pytest.raises(PermissionDenied):
        services.edit_comment(outsider, comment, "Lovely charts!")


def test_nobody_but_its_author_may_edit_a_comment(workbook, owner, outsider, staff):
    comment = services.add_comment(outsider, workbook, "Lovely charts.")

    for someone in (owner, staff, AnonymousUser()):
        with pytest.raises(PermissionDenied):
            services.edit_comment(someone, comment, "Edited by someone else")
    comment.refresh_from_db()
    assert comment.body == "Lovely charts."


@pytest.mark.parametrize("deleter", ["comment author", "workbook author", "staff"])
def test_these_may_delete_a_comment(workbook, owner, outsider, staff, deleter):
    comment = services.add_comment(outsider, workbook, "Lovely charts.")
    someone = {"comment author": outsider, "workbook author": owner, "staff": staff}[deleter]

    services.delete_comment(someone, comment)

    assert not Comment.objects.exists()


def test_nobody_else_may_delete_a_comment(workbook, outsider):
    comment = services.add_comment(outsider, workbook, "Lovely charts.")

    for someone in (UserFactory(), AnonymousUser()):
        with pytest.raises(PermissionDenied):
            services.delete_comment(someone, comment)
    workbook.refresh_from_db()
    assert workbook.comment_count == 1


# --- Rate limits ----------------------------------------------------------------------------------


def test_it_limits_each_action_per_member_per_minute(rate_limits, owner, outsider):
    workbooks = WorkbookFactory.create_batch(3, author=owner)
    for workbook in workbooks[:2]:
        services.favorite(outsider, workbook)

    with pytest.raises(services.RateLimited) as limited:
        services.favorite(outsider, workbooks[2])

    assert 1 <= limited.value.retry_after <= 60
    assert Favorite.objects.count() == 2
    # Other members, and other actions, have their own allowance.
    services.favorite(owner, workbooks[2])
    services.add_comment(outsider, workbooks[2], "Still allowed.")


def test_it_limits_follows_and_comments_too(rate_limits, workbook, owner, outsider):
    for someone in UserFactory.create_batch(2):
        services.follow(outsider, someone)
    with pytest.raises(services.RateLimited):
        services.follow(outsider, owner)

    services.add_comment(outsider, workbook, "One")
    services.add_comment(outsider, workbook, "Two")
    with pytest.raises(services.RateLimited):
        services.add_comment(outsider, workbook, "Three")

    assert Follow.objects.count() == 2
    assert Comment.objects.count() == 2


# --- Marking read ---------------------------------------------------------------------------------


def test_marking_read_touches_only_the_member_s_own_notifications(workbook, owner, outsider):
    services.follow(outsider, owner)
    services.favorite(outsider, workbook)
    services.follow(owner, outsider)
    first, _ = Notification.objects.filter(recipient=owner).order_by("pk")
    someone_elses = Notification.objects.get(recipient=outsider)

    assert services.mark_read(owner, [first.pk, someone_elses.pk]) == 1

    assert list(Notification.objects.filter(read=True)) == [first]
    assert services.mark_read(owner) == 1
    assert not Notification.objects.filter(recipient=owner, read=False).exists()
    assert Notification.objects.get(pk=someone_elses.pk).read is False


# --- Publishing and featuring ---------------------------------------------------------------------


@pytest.fixture
def followers(owner):
    """Five members following the owner; the third does not want to hear of publications."""
    members = UserFactory.create_batch(5)
    for member in members:
        services.follow(member, owner)
    services.set_muted_verbs(members[2], [Verb.PUBLISHED])
    Notification.objects.all().delete()
    return members


def published_to(workbook: Workbook) -> list[int]:
    return sorted(
        Notification.objects.filter(verb="published", workbook=workbook).values_list(
            "recipient_id", flat=True
        )
    )


def test_the_published_fan_out_goes_batch_by_batch_and_skips_muted_followers(
    monkeypatch, owner, workbook, followers
):
    monkeypatch.setattr(services, "FAN_OUT_BATCH", 2)
    follows = list(Follow.objects.filter(followee=owner).order_by("pk"))
    unmuted = [f for f in follows if f.follower_id != followers[2].pk]

    first = services.fan_out_published(workbook.pk)
    assert first == unmuted[1].pk
    assert len(published_to(workbook)) == 2
    second = services.fan_out_published(workbook.pk, first)
    assert second == unmuted[3].pk
    assert services.fan_out_published(workbook.pk, second) is None

    assert published_to(workbook) == sorted(m.pk for m in followers if m != followers[2])
    assert {n.actor_id for n in Notification.objects.all()} == {owner.pk}


def test_running_the_fan_out_again_notifies_nobody_twice(monkeypatch, workbook, followers):
    monkeypatch.setattr(services, "FAN_OUT_BATCH", 2)
    tasks.fan_out_published.delay(workbook.pk)
    told = published_to(workbook)

    tasks.fan_out_published.delay(workbook.pk)

    assert published_to(workbook) == told
    assert len(told) == 4


@pytest.mark.postgres  # the one-statement batch is PostgreSQL's (SQLite keeps bulk_create)
def test_a_fan_out_batch_stores_its_notifications_in_one_statement_on_postgresql(
    django_capture_on_commit_callbacks, workbook, followers
):
    """The followers go as one array: no query for the ones already told, no parameter a row."""
    first, second = [m for m in followers if m != followers[2]][:2]
    services.notify(first, workbook.author, Verb.PUBLISHED, workbook=workbook)  # told already
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks() as callbacks,
    ):
        services.fan_out_published(workbook.pk)

    touching = [q["sql"] for q in queries.captured_queries if "social_notification" in q["sql"]]
    assert len(touching) == 1
    assert touching[0].lstrip().startswith("INSERT")
    assert len(queries.captured_queries) <= 6  # workbook, batch, savepoint, lock, insert, release
    assert len(callbacks) == 2  # the push, then the bells forgotten
    stored = Notification.objects.filter(verb=Verb.PUBLISHED, workbook=workbook)
    assert sorted(stored.values_list("recipient_id", flat=True)) == sorted(
        m.pk for m in followers if m != followers[2]
    )
    assert stored.filter(recipient=second).get().created_at > timezone.now() - timedelta(minutes=1)
    assert not stored.filter(read=True).exists()


def test_a_fan_out_batch_pushes_and_forgets_the_bells_of_the_followers_it_told_only(
    monkeypatch, django_capture_on_commit_callbacks, workbook, followers
):
    told_before = followers[0]
    earlier = services.notify(told_before, workbook.author, Verb.PUBLISHED, workbook=workbook)
    pushed, forgotten = [], []
    monkeypatch.setattr(  # SQLite's batch is read in its transaction and sent after the commit
        push,
        "send",
        lambda messages: pushed.append(
            [m["notification"]["id"] for _, m in messages if m["type"] == "notification"]
        ),
    )
    monkeypatch.setattr(  # PostgreSQL's batch is pushed as stored: (id, recipient, previous, unread)
        push, "published", lambda workbook, at, rows: pushed.append([row[0] for row in rows])
    )
    monkeypatch.setattr(services.selectors, "forget_bells", lambda ids: forgotten.extend(ids))

    with django_capture_on_commit_callbacks(execute=True):
        services.fan_out_published(workbook.pk)

    fresh = Notification.objects.filter(verb=Verb.PUBLISHED, workbook=workbook).exclude(
        pk=earlier.pk
    )
    assert pushed == [sorted(fresh.values_list("pk", flat=True))]
    assert sorted(forgotten) == sorted(fresh.values_list("recipient_id", flat=True))
    assert told_before.pk not in forgotten
    assert followers[2].pk not in forgotten

    pushed.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.fan_out_published(workbook.pk)  # everyone told: nothing to push

    assert pushed == []


def test_a_fan_out_batch_pushes_what_pushing_its_stored_notifications_would(
    monkeypatch, django_capture_on_commit_callbacks, workbook, followers
):
    """On PostgreSQL the batch is pushed from what the insert returned, not read back: the same
    messages, `previous` included (a follower told of something else before has it)."""
    earlier = services.notify(followers[0], UserFactory(), Verb.FOLLOWED)
    sent = []
    monkeypatch.setattr(push, "_send_all", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        services.fan_out_published(workbook.pk)
    ids = Notification.objects.filter(verb=Verb.PUBLISHED, workbook=workbook).values_list(
        "pk", flat=True
    )
    [pushed] = [messages for messages in sent if len(messages) > 2]

    push.notifications(sorted(ids))

    def per_member(messages):  # a member's messages in order; members may come in any order
        grouped = {}
        for uid, message in messages:
            grouped.setdefault(uid, []).append(message)
        return grouped

    assert per_member(pushed) == per_member(sent[-1])
    previous = {
        uid: message["previous"] for uid, message in pushed if message["type"] == "notification"
    }
    assert previous[followers[0].pk] == earlier.pk
    assert previous[followers[1].pk] == 0


def test_a_fan_out_batch_is_pushed_after_its_commit_reading_only_whether_it_is_still_shown(
    monkeypatch, django_capture_on_commit_callbacks, django_assert_num_queries, workbook, followers
):
    """What a batch pushes is known when it commits (on PostgreSQL the insert returns each
    follower's unread count too), so its push can run on another thread, beside the next batch:
    the new counts, the push first, then the bells. The one query is the push's check, just
    before sending, that the workbook is still published by an active author (it was 0 before
    that check: a workbook made a draft meanwhile still reached followers' sockets)."""
    services.notify(followers[0], UserFactory(), Verb.FOLLOWED)  # one unread already
    done = []
    monkeypatch.setattr(push, "_send_all", lambda messages: done.append(("push", messages)))
    monkeypatch.setattr(
        services.selectors, "forget_bells", lambda ids: done.append(("bells", sorted(ids)))
    )
    with django_capture_on_commit_callbacks() as callbacks:
        services.fan_out_published(workbook.pk)

    with django_assert_num_queries(1):  # whether the workbook is still shown; nothing else
        for callback in callbacks:
            callback()

    assert [kind for kind, _ in done] == ["push", "bells"]
    [(_, messages), (_, forgotten)] = done
    counts = {uid: m["count"] for uid, m in messages if m["type"] == "unread_count"}
    told = [m for m in followers if m != followers[2]]
    assert counts == {m.pk: 2 if m == followers[0] else 1 for m in told}
    assert forgotten == sorted(m.pk for m in told)


def _withdraw_by_unpublishing(workbook):
    workbook_services.unpublish(Workbook.objects.filter(pk=workbook.pk))


def _withdraw_by_deleting(workbook):
    workbook_services.delete_workbook(workbook)


def _withdraw_by_deactivating_the_author(workbook):
    author = User.objects.get(pk=workbook.author_id)
    author.is_active = False
    author.save()


@pytest.mark.parametrize(
    "withdraw",
    [_withdraw_by_unpublishing, _withdraw_by_deleting, _withdraw_by_deactivating_the_author],
)
def test_a_fan_out_batch_withdrawn_before_its_push_pushes_no_notification_of_it(
    monkeypatch, django_capture_on_commit_callbacks, workbook, followers, withdraw
):
    """The push may wait behind earlier batches' on a thread of its own: a workbook made a draft
    (or deleted, or its author deactivated) after the batch read it reaches no follower's
    socket, neither its title nor its address. The new unread counts are still sent."""
    sent, jobs = [], []
    monkeypatch.setattr(push, "_send_all", lambda messages: sent.extend(messages))
    with django_capture_on_commit_callbacks(execute=True):
        services.fan_out_published(workbook.pk, pushes=jobs.append, bells=lambda job: job())
    assert jobs
    assert not sent
    withdraw(workbook)  # before the push thread runs

    for job in jobs:
        job()

    assert not [m for _, m in sent if m["type"] == "notification"]
    assert workbook.title not in repr(sent)
    assert workbook.slug not in repr(sent)
    told = {m.pk for m in followers if m != followers[2]}
    assert {uid for uid, m in sent if m["type"] == "unread_count"} == told


def test_a_fan_out_batch_still_shown_at_its_push_is_pushed(
    monkeypatch, django_capture_on_commit_callbacks, workbook, followers
):
    sent, jobs = [], []
    monkeypatch.setattr(push, "_send_all", lambda messages: sent.extend(messages))
    with django_capture_on_commit_callbacks(execute=True):
        services.fan_out_published(workbook.pk, pushes=jobs.append, bells=lambda job: job())
    Workbook.objects.filter(pk=workbook.pk).update(title="Renamed, still published")

    for job in jobs:
        job()

    told = {m.pk for m in followers if m != followers[2]}
    assert {uid for uid, m in sent if m["type"] == "notification"} == told


@pytest.mark.postgres  # SQLite's in-memory test database ignores a close
@pytest.mark.django_db(transaction=True)
def test_pushes_in_order_close_the_connection_their_thread_opened():
    """A push reads whether its workbook is still shown, on its thread's own connection: closed
    when the block ends, not left open by every fan-out task."""
    from django.db import connections

    opened = []

    def read():
        Workbook.objects.exists()
        opened.append(connections["default"])

    with push.InOrder() as pushes:
        pushes.put(read)
    [used] = opened
    assert used is not connections["default"]  # the thread's own
    assert used.connection is None  # closed


def test_pushes_in_order_run_one_after_another_on_a_thread_of_their_own():
    ran = []
    with push.InOrder() as pushes:
        for i in range(5):
            pushes.put(lambda i=i: ran.append((i, threading.current_thread())))
        pushes.put(lambda: 1 / 0)  # logged; the ones after it still run
        pushes.put(lambda: ran.append((5, threading.current_thread())))
    assert [i for i, _ in ran] == [0, 1, 2, 3, 4, 5]  # all done on leaving the block
    assert len({thread for _, thread in ran}) == 1
    assert ran[0][1] is not threading.current_thread()

    pushes.put(lambda: ran.append((6, threading.current_thread())))  # after: at once, here
    assert ran[-1] == (6, threading.current_thread())


@pytest.mark.django_db(transaction=True)  # batches that really commit, one after another
def test_the_fan_out_task_pushes_each_batch_beside_the_next_one_and_in_order(
    monkeypatch, workbook, followers
):
    """The task stores batch after batch while another thread pushes each committed one (and a
    third forgets the bells): the last follower does not wait for every earlier push in turn."""
    monkeypatch.setattr(services, "FAN_OUT_BATCH", 2)
    task_thread = threading.current_thread()
    pushed = []

    def record(messages):
        ids = [m["notification"]["id"] for _, m in messages if m["type"] == "notification"]
        pushed.append((sorted(ids), threading.current_thread()))

    monkeypatch.setattr(push, "_send_all", record)

    tasks.fan_out_published(workbook.pk)

    stored = sorted(
        Notification.objects.filter(verb=Verb.PUBLISHED, workbook=workbook).values_list(
            "pk", flat=True
        )
    )
    assert [ids for ids, _ in pushed] == [stored[:2], stored[2:]]
    assert all(thread is not task_thread for _, thread in pushed)


def test_a_worker_process_loads_the_urlconf_as_it_starts_not_in_its_first_push():
    from celery.signals import worker_process_init
    from django.urls import clear_url_caches, get_resolver

    clear_url_caches()
    assert not get_resolver()._populated

    worker_process_init.send(sender=None)

    assert get_resolver()._populated


def test_one_fan_out_task_stores_batch_after_batch_and_queues_the_rest_only_when_out_of_time(
    monkeypatch, workbook, followers
):
    """A hand-off between tasks waits for the broker and a free worker: one task goes on."""
    monkeypatch.setattr(services, "FAN_OUT_BATCH", 2)
    queued = []
    monkeypatch.setattr(tasks.fan_out_published, "delay", lambda *args: queued.append(args))

    tasks.fan_out_published(workbook.pk)

    assert len(published_to(workbook)) == 4
    assert queued == []

    Notification.objects.all().delete()
    monkeypatch.setattr(tasks, "FAN_OUT_TASK_SECONDS", 0)
    tasks.fan_out_published(workbook.pk)

    assert len(published_to(workbook)) == 2
    assert len(queued) == 1


def test_the_fan_out_tells_nobody_of_a_draft_or_a_deleted_workbook(draft, followers):
    assert services.fan_out_published(draft.pk) is None
    assert services.fan_out_published(draft.pk + 1000) is None
    assert not Notification.objects.exists()


def test_publishing_records_one_activity_and_notifies_the_followers(
    django_capture_on_commit_callbacks, owner, followers
):
    with django_capture_on_commit_callbacks(execute=True):
        workbook = workbook_services.create_workbook(
            owner, title="Cloud spend", embed_url=EMBED, status="published"
        )

    activity = Activity.objects.get(verb="published")
    assert (activity.actor, activity.workbook) == (owner, workbook)
    assert published_to(workbook) == sorted(m.pk for m in followers if m != followers[2])


def test_publishing_a_draft_later_announces_it_once(
    django_capture_on_commit_callbacks, owner, followers
):
    with django_capture_on_commit_callbacks(execute=True):
        workbook = workbook_services.create_workbook(owner, title="Cloud spend", embed_url=EMBED)
    assert not Activity.objects.filter(verb="published").exists()

    with django_capture_on_commit_callbacks(execute=True):
        workbook_services.update_workbook(workbook, status="published")
        workbook_services.update_workbook(workbook, status="draft")
        workbook_services.update_workbook(workbook, status="published")

    assert Activity.objects.filter(verb="published").count() == 1
    assert len(published_to(workbook)) == 4


def test_featuring_a_workbook_notifies_its_author(workbook, owner, curator):
    workbook_services.feature([workbook], curator)

    notification = Notification.objects.get(recipient=owner)
    assert (notification.verb, notification.actor, notification.workbook) == (
        "featured",
        curator,
        workbook,
    )


def test_featuring_one_s_own_workbook_notifies_nobody(curator):
    workbook = WorkbookFactory(author=curator)

    workbook_services.feature([workbook], curator)

    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_saving_a_stale_copy_keeps_the_counters_that_changed_since():
    author, fan = UserFactory(), UserFactory()
    workbook = WorkbookFactory(author=author)
    stale_workbook = Workbook.objects.get(pk=workbook.pk)
    stale_author = User.objects.get(pk=author.pk)
    services.favorite(fan, workbook)
    services.follow(fan, author)

    workbook_services.update_workbook(stale_workbook, title="A new title")
    stale_author.bio = "Edited in the admin"
    stale_author.save()

    workbook.refresh_from_db()
    author.refresh_from_db()
    assert workbook.favorite_count == 1
    assert workbook.title == "A new title"
    assert author.follower_count == 1
    assert author.bio == "Edited in the admin"
