import factory
from django.contrib.auth.models import Group

from accounts.models import User
from accounts.roles import CURATORS_GROUP

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"member{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    full_name = factory.Faker("name")
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
