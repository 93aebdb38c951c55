"""What `make run` prints last, just before the development server's own lines: where the site
answers and whom to sign in as. Its own step, after migrations and seed_demo, so that nothing they
write (tasks, emails, audit lines) ends up below it."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD, DEMO_USERS

ROLES = {
    "superuser": "everything, and the admin",
    "curator": "features workbooks and collections",
    "moderator": "reviews what members report",
    "": "a member",
}


def demo_accounts_text(site_url: str) -> str:
    """The block of lines: the site's address, the demo accounts with what each may do, then the
    admin's and the API docs' addresses."""
    width = max(len(username) for username, *_ in DEMO_USERS)
    accounts = [
        f"    {username.ljust(width)}  {ROLES[role]}" for username, _, _, role in DEMO_USERS
    ]
    return "\n".join(
        [
            "",
            f"Sigma Playground: {site_url}/",
            f"  Demo accounts, each with the password {DEMO_PASSWORD}:",
            *accounts,
            f"  Admin:    {site_url}{reverse('admin:index')}",
            f"  API docs: {site_url}{reverse('api-docs')}",
            "",
        ]
    )


class Command(BaseCommand):
    help = "Print the site's address and the demo accounts (seed_demo creates them)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(demo_accounts_text(settings.SITE_URL))
