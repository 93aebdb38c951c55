"""Demo members for `make run` (seed_demo). Development only: they share a known password."""

from __future__ import annotations

from . import services
from .models import User
from .roles import make_curator, make_moderator

DEMO_PASSWORD = "playground-demo"  # noqa: S105 - printed for the developer; never used with DEBUG off

DEMO_USERS = [
    # username, full name, bio, role
    ("admin", "Site Admin", "Keeps the lights on.", "superuser"),
    ("curator", "Casey Curator", "Picks the workbook of the day.", "curator"),
    ("moderator", "Morgan Moderator", "Keeps the comments kind.", "moderator"),
    ("ada", "Ada Lovelace", "Analyses of engines, looms and numbers.", ""),
    ("grace", "Grace Hopper", "Compilers, queues and nanoseconds.", ""),
    ("katherine", "Katherine Johnson", "Trajectories and launch windows.", ""),
]

DEMO_PROFILES = {
    # username: organisation, location, links (one per kind, on the kind's own site)
    "ada": (
        "Analytical Engines Ltd",
        "London",
        [
            {"kind": "github", "url": "https://github.com/ada-demo"},
            {"kind": "linkedin", "url": "https://www.linkedin.com/in/ada-demo"},
        ],
    ),
    "grace": (
        "Navy Computing Lab",
        "Arlington, Virginia",
        [
            {"kind": "github", "url": "https://github.com/grace-demo"},
            {"kind": "bluesky", "url": "https://bsky.app/profile/grace-demo.bsky.social"},
        ],
    ),
    "katherine": (
        "Flight Research Division",
        "Hampton, Virginia",
        [
            {"kind": "linkedin", "url": "https://www.linkedin.com/in/katherine-demo"},
            {"kind": "sigma", "url": "https://community.sigmacomputing.com/u/katherine-demo"},
        ],
    ),
}


def ensure_demo_users() -> tuple[dict[str, User], int]:
    users, created = {}, 0
    for username, full_name, bio, role in DEMO_USERS:
        user, is_new = User.objects.get_or_create(
            username=username,
            # Verified: the demo's members publish and comment from the start.
            defaults={
                "email": f"{username}@example.com",
                "email_verified": True,
                "full_name": full_name,
                "bio": bio,
            },
        )
        if is_new:
            user.set_password(DEMO_PASSWORD)
            user.is_superuser = user.is_staff = role == "superuser"
            user.save()
            if role == "curator":
                make_curator(user)
            elif role == "moderator":
                make_moderator(user)
            created += 1
        users[username] = user
    return users, created


def ensure_demo_profiles(users: dict[str, User]) -> None:
    """Organisation, location and links for a few demo members, through the same service as the
    profile form. A member who already has an organisation is left as they are: a re-run changes
    nothing, and does not undo what a developer typed into the form."""
    for username, (organisation, location, links) in DEMO_PROFILES.items():
        user = users[username]
        if user.organisation:
            continue
        services.update_profile(
            user,
            full_name=user.full_name,
            bio=user.bio,
            website=user.website,
            organisation=organisation,
            location=location,
            links=links,
        )
