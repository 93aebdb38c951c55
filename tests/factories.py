from datetime import timedelta

import factory
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from accounts.roles import CURATORS_GROUP, MODERATORS_GROUP
from social.models import Collection, CollectionItem
from workbooks import services
from workbooks.cache import gallery_changed
from workbooks.models import Featured, Tag, Workbook

PASSWORD = "correct horse battery staple"
PUBLIC_EMBED = "https://app.sigmacomputing.com/embed/1-{}"
PRIVATE_WORKBOOK = "https://app.sigmacomputing.com/acme/workbook/Sales-Plan-6pV2Fpd6FtMEyxLzHyArXW"
# A real browser's User-Agent: only such requests count as views.
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"member{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    full_name = factory.Faker("name")
    email_verified = True
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save()


class CuratorFactory(UserFactory):
    is_staff = True

    @factory.post_generation
    def curator_group(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name=CURATORS_GROUP))


class ModeratorFactory(UserFactory):
    """Staff in the Moderators group (accounts.roles): reads drafts, changes and deletes anyone's
    workbooks and comments."""

    is_staff = True

    @factory.post_generation
    def moderator_group(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name=MODERATORS_GROUP))


class TagFactory(factory.django.DjangoModelFactory):
    """A tag written as the services write one: the gallery's cache is told (gallery_changed),
    as services.save_tag and set_tags do, so a page cached before shows it."""

    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"topic {n}")
    slug = factory.LazyAttribute(lambda tag: slugify(tag.name))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        tag = super()._create(model_class, *args, **kwargs)
        gallery_changed()
        return tag


class WorkbookFactory(factory.django.DjangoModelFactory):
    """A workbook made the way the site makes them (services.create_workbook): the description is
    rendered and sanitised, the Sigma URL parsed, tags attached and the search entry made.

    Fields the service does not take (published_at, view_count, trending_score...) are written
    afterwards, directly, for tests that need a given past or given counters.
    """

    class Meta:
        model = Workbook

    author = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Workbook number {n}")
    description = "A Sigma workbook shared on the playground."
    embed_url = factory.Sequence(lambda n: PUBLIC_EMBED.format(f"Embed{n:06d}"))
    tags = ()
    status = Workbook.Status.PUBLISHED

    @classmethod
    def _create(cls, model_class, *, author, title, description, embed_url, tags, status, **extra):
        workbook = services.create_workbook(
            author,
            title=title,
            description=description,
            embed_url=embed_url,
            tags=tags,
            status=status,
        )
        if extra:
            model_class.objects.filter(pk=workbook.pk).update(**extra)
            workbook.refresh_from_db()
        return workbook

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise NotImplementedError("Workbooks are only made through services: use create().")


class FeaturedFactory(factory.django.DjangoModelFactory):
    """A featuring open from an hour ago until unfeatured, written as the services write one: the
    gallery's cache is told (gallery_changed, as services.feature and save_featuring do), so a home
    page cached before shows it."""

    class Meta:
        model = Featured

    workbook = factory.SubFactory(WorkbookFactory)
    position = factory.Sequence(lambda n: n + 1)
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    ends_at = None
    note = ""

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        featuring = super()._create(model_class, *args, **kwargs)
        gallery_changed()
        return featuring


class CollectionFactory(factory.django.DjangoModelFactory):
    """A public collection; pass `workbooks=[...]` to put them in it, in that order."""

    class Meta:
        model = Collection
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Collection {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.title))
    visibility = Collection.Visibility.PUBLIC

    @factory.post_generation
    def workbooks(self, create, extracted, **kwargs):
        for position, workbook in enumerate(extracted or []):
            CollectionItem.objects.create(collection=self, workbook=workbook, position=position)
