"""Pages answer the services' refusals in one place, read from the source (docs/architecture.md).

sigma_playground.errors.PageErrorsMiddleware turns a RetryLater (any rate limit), a ValidationError
and a paging.BadPage raised through a page's view into the site's pages. So no page view module (a
`views.py` of an app, outside `api/`) catches a rate limit or a bad page to answer it itself. The
one exception is a form shown again with the refusal on it, so that nothing typed is lost: such a
handler answers `return retry_later(<the page rendered again>, <the error it caught>)`, and the
429 and Retry-After still come from that one helper. For the same reason no page view module sets
a Retry-After header or a 429 itself.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from sigma_playground.errors import RetryLater
from sigma_playground.paging import BadPage

ROOT = Path(__file__).resolve().parent.parent
APPS = (
    "sigma_playground", "idempotency", "search", "media", "accounts", "workbooks", "social",
    "moderation",
)  # fmt: skip


def page_view_modules() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("views.py")
        if "api" not in path.relative_to(ROOT).parts
    )


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def subclasses(cls: type) -> Iterator[type]:
    for subclass in cls.__subclasses__():
        yield subclass
        yield from subclasses(subclass)


def refusal_names() -> tuple[set[str], set[str]]:
    """The names of the rate limits (RetryLater and every subclass the page views can reach:
    their modules are imported first, and so what they import) and of the bad page."""
    for path in page_view_modules():
        importlib.import_module(module_name(path))
    rate_limits = {"RetryLater", "Throttled", "RateLimited"}
    rate_limits |= {cls.__name__ for cls in subclasses(RetryLater)}
    return rate_limits, {BadPage.__name__}


def caught_names(handler: ast.ExceptHandler) -> set[str]:
    """The class names an `except` names: `RateLimited`, `services.RateLimited`, or a tuple."""
    caught = handler.type
    if caught is None:
        return set()
    parts = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return {part.id if isinstance(part, ast.Name) else getattr(part, "attr", "") for part in parts}


def answers_with_retry_later(handler: ast.ExceptHandler) -> bool:
    """Whether the handler ends by `return retry_later(<a page rendered>, <the error caught>)`, or
    by `return form_retry_later(request, <template>, <context>, <the error caught>)`, which renders
    the form's page and answers it through retry_later (sigma_playground.forms)."""
    if handler.name is None or not handler.body:
        return False
    last = handler.body[-1]
    if not isinstance(last, ast.Return) or not isinstance(last.value, ast.Call):
        return False
    call = last.value
    if not isinstance(call.func, ast.Name):
        return False
    if call.func.id == "form_retry_later":
        return (
            len(call.args) == 4
            and {keyword.arg for keyword in call.keywords} <= {"field"}
            and isinstance(call.args[3], ast.Name)
            and call.args[3].id == handler.name
        )
    return (
        call.func.id == "retry_later"
        and len(call.args) == 2
        and not call.keywords
        and isinstance(call.args[0], ast.Call)
        and isinstance(call.args[1], ast.Name)
        and call.args[1].id == handler.name
    )


def problems(source: str, where: str, rate_limits: set[str], bad_pages: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ExceptHandler):
            names = caught_names(node)
            if names & bad_pages:
                found.append(f"{line} catches {sorted(names & bad_pages)}: let it through")
            elif names & rate_limits and not answers_with_retry_later(node):
                found.append(
                    f"{line} catches {sorted(names & rate_limits)}: let it through, or show the "
                    "form again with `return retry_later(<page>, <the error>)` or "
                    "`return form_retry_later(request, <template>, <context>, <the error>)`"
                )
        elif isinstance(node, ast.Constant) and (
            (isinstance(node.value, str) and node.value.lower() == "retry-after")
            or (type(node.value) is int and node.value == 429)
        ):
            found.append(f"{line} answers {node.value!r} itself: use errors.retry_later")
    return found


def test_no_page_view_answers_a_rate_limit_or_a_bad_page_itself():
    modules = page_view_modules()
    rate_limits, bad_pages = refusal_names()

    # What is read: the views that answered them by hand before, and the rate limits they meet.
    assert {"accounts.views", "social.views", "workbooks.views"} <= set(map(module_name, modules))
    assert {"RateLimited", "SignInThrottled", "SignUpThrottled"} <= rate_limits
    found = [
        problem
        for path in modules
        for problem in problems(
            path.read_text(), str(path.relative_to(ROOT)), rate_limits, bad_pages
        )
    ]
    assert not found, "\n".join(found)


# The check itself, on what it must refuse and what it must let be.

REFUSED = {
    "a rate limit answered by the view": """
try:
    services.follow(user, person)
except services.RateLimited as error:
    return _rate_limited(request, error, back)
""",
    "a bad page answered by the view": """
try:
    page = paging.html_page(request, rows, 30)
except paging.BadPage as error:
    return paging.bad_page_response(request, error)
""",
    "a bad page among others": """
try:
    number = paging.page_param(raw)
except (ValueError, BadPage):
    number = 1
""",
    "a form shown again with another error's wait": """
try:
    services.complete_second_factor(request, user, code)
except SignInThrottled as error:
    form.add_error("code", str(error))
    return retry_later(render_form(request, "login.html", context), earlier)
""",
    "a form shown again, the answer made by hand": """
try:
    comment = services.add_comment(user, workbook, body)
except services.RateLimited as error:
    form.add_error(None, str(error))
    response = render(request, "comment_form.html", context, status=429)
    response["Retry-After"] = str(error.retry_after)
    return response
""",
    "a 429 set by hand": """
def _throttled(response, retry_after):
    response.status_code = 429
    return response
""",
}

ALLOWED = {
    "a form shown again by the shared helper": """
try:
    services.complete_second_factor(request, user, code)
except services.SignInThrottled as error:
    form.add_error("code", str(error))
    return retry_later(render_form(request, "login.html", context), error)
""",
    "another error": """
try:
    tag = selectors.listed_tag(slug)
except Tag.DoesNotExist:
    raise Http404("No such tag.") from None
""",
}


@pytest.mark.parametrize("source", REFUSED.values(), ids=REFUSED.keys())
def test_the_check_finds_a_view_answering_a_refusal_itself(source):
    assert problems(source, "views.py", *refusal_names())


@pytest.mark.parametrize("source", ALLOWED.values(), ids=ALLOWED.keys())
def test_the_check_lets_be_what_the_one_place_allows(source):
    assert problems(source, "views.py", *refusal_names()) == []
