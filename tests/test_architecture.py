"""The apps' direction of dependency, read from the source (docs/architecture.md).

The apps are layered, low to high; an app imports only from apps below it:

    sigma_playground (core) < idempotency < search < media < accounts < workbooks < social
    < insights < moderation

sigma_playground's composition root (urls, settings, asgi, wsgi, routing, celery, schema) puts the
apps together and may import any of them. A dependency is an import (at module level, inside a
function or under TYPE_CHECKING alike), a lazy model reference ("app.Model" in a relation field,
`apps.get_model`) or a task named to `jobs.later` / `jobs.send`: each ties one app to another as
surely as an import does. Migrations are history and are not read.

Besides the layering: `media` knows only images (nothing from accounts, workbooks or social), a
services module never imports a tasks module (it names tasks to sigma_playground.jobs; tasks call
services), and an import inside a function is allowed only with a reason that is not an import
loop (LOCAL_IMPORTS_ALLOWED below).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LAYERS = (
    "sigma_playground", "idempotency", "search", "media", "accounts", "workbooks", "social",
    "insights", "moderation",
)  # fmt: skip
RANK = {app: rank for rank, app in enumerate(LAYERS)}

COMPOSITION_ROOT = {
    f"sigma_playground.{name}"
    for name in ("urls", "settings", "asgi", "wsgi", "routing", "celery", "schema")
}

# Imports inside a function, each with the reason it is there (never to dodge an import loop):
# {(importing module, imported module): why}. An AppConfig.ready() needs no entry: Django calls it
# once every app's models are loaded, the one place an app connects its receivers.
LOCAL_IMPORTS_ALLOWED: dict[tuple[str, str], str] = {
    ("sigma_playground.observability.logs", "sigma_playground.observability.reports"): (
        "the settings import logs.py to configure logging, before reports.py can be (it reads them)"
    ),
    ("sigma_playground.observability.sentry", "sigma_playground.observability.reports"): (
        "the settings import sentry.py to start Sentry, before reports.py can be (it reads them)"
    ),
}

# Dependencies between apps that are not imports of code and point up, each with its reason:
# {(from app, to app, how): why}.
ARROWS_ALLOWED: dict[tuple[str, str, str], str] = {
    ("search", "workbooks", "model reference"): (
        "search.Entry is a workbook's row in the search table, keyed by the workbook; the search "
        "app imports nothing from workbooks, which fills it"
    ),
}

RELATION_FIELDS = {"ForeignKey", "OneToOneField", "ManyToManyField"}
JOB_FUNCTIONS = {"later", "send"}


@dataclass(frozen=True)
class Dependency:
    module: str  # the module that depends, "workbooks.services"
    target: str  # what it depends on: a module, "social.tasks", or an app for a model reference
    line: int
    how: str  # "import", "local import", "model reference", "task name"

    @property
    def source_app(self) -> str:
        return self.module.split(".")[0]

    @property
    def target_app(self) -> str:
        return self.target.split(".")[0]

    def __str__(self) -> str:
        path = self.module.replace(".", "/") + ".py"
        return f"{path}:{self.line} {self.how} {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> list[Path]:
    return sorted(
        path
        for app in LAYERS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    )


class _Reader(ast.NodeVisitor):
    """Collects one module's dependencies on the project's apps."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.functions: list[str] = []  # the functions we are inside, outermost first
        self.found: list[Dependency] = []

    def _add(self, target: str, node: ast.AST, how: str) -> None:
        dep = Dependency(self.module, target, node.lineno, how)
        if dep.target_app in RANK and dep not in self.found:
            self.found.append(dep)

    def _import_how(self) -> str:
        if not self.functions:
            return "import"
        if self.functions == ["ready"] and self.module.endswith(".apps"):
            return "import"  # AppConfig.ready: see LOCAL_IMPORTS_ALLOWED
        return "local import"

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node, self._import_how())

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            source = ".".join([*base, node.module] if node.module else base)
        else:
            source = node.module or ""
        for alias in node.names:
            # `from workbooks import tasks` imports the module workbooks.tasks; `from
            # workbooks.models import Workbook` the module workbooks.models.
            submodule = f"{source}.{alias.name}"
            is_module = (ROOT / submodule.replace(".", "/")).with_suffix(".py").exists() or (
                ROOT / submodule.replace(".", "/") / "__init__.py"
            ).exists()
            self._add(submodule if is_module else source, node, self._import_how())

    def visit_Call(self, node: ast.Call) -> None:
        name = (
            node.func.attr
            if isinstance(node.func, ast.Attribute)
            else getattr(node.func, "id", None)
        )
        first = node.args[0] if node.args else None
        text = first.value if isinstance(first, ast.Constant) else None
        if isinstance(text, str):
            if (name in RELATION_FIELDS and "." in text) or name == "get_model":
                self._add(text.split(".")[0], node, "model reference")
            elif name in JOB_FUNCTIONS and text.count(".") >= 2:
                self._add(text.rpartition(".")[0], node, "task name")
        self.generic_visit(node)


@cache
def dependencies() -> tuple[Dependency, ...]:
    found = []
    for path in _sources():
        reader = _Reader(_module_name(path), path.name == "__init__.py")
        reader.visit(ast.parse(path.read_text(), str(path)))
        found.extend(reader.found)
    return tuple(found)


def arrows() -> dict[tuple[str, str], list[Dependency]]:
    """Dependencies between two different apps, by (from app, to app); the composition root's
    are left out (putting the apps together is its job)."""
    found: dict[tuple[str, str], list[Dependency]] = defaultdict(list)
    for dep in dependencies():
        if dep.module in COMPOSITION_ROOT or dep.source_app == dep.target_app:
            continue
        if (dep.source_app, dep.target_app, dep.how) in ARROWS_ALLOWED:
            continue
        found[dep.source_app, dep.target_app].append(dep)
    return dict(found)


def upward(graph: dict[tuple[str, str], list[Dependency]]) -> dict[tuple[str, str], list]:
    return {pair: deps for pair, deps in graph.items() if RANK[pair[1]] > RANK[pair[0]]}


def loops(graph: dict[tuple[str, str], list[Dependency]]) -> list[tuple[str, str]]:
    """Pairs of apps that depend on each other."""
    return sorted(
        (source, target)
        for source, target in graph
        if (target, source) in graph and RANK[source] < RANK[target]
    )


def tangles(graph: dict[tuple[str, str], list[Dependency]]) -> list[list[str]]:
    """The app-level cycles of any length: each strongly connected group of two or more apps
    (Tarjan's); with no cycle there is none."""
    edges = defaultdict(set)
    for source, target in graph:
        edges[source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(app: str) -> None:
        index[app] = low[app] = len(index)
        stack.append(app)
        for other in sorted(edges[app]):
            if other not in index:
                visit(other)
                low[app] = min(low[app], low[other])
            elif other in stack:
                low[app] = min(low[app], index[other])
        if low[app] == index[app]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == app:
                    break
            if len(group) > 1:
                groups.append(sorted(group, key=RANK.__getitem__))

    for app in LAYERS:
        if app not in index:
            visit(app)
    return groups


def summary() -> str:
    graph = arrows()
    pairs = ", ".join(f"{a} <-> {b}" for a, b in loops(graph)) or "none"
    groups = "; ".join(" ".join(group) for group in tangles(graph)) or "none"
    return (
        f"{len(graph)} arrows between apps, {len(upward(graph))} upward, "
        f"{len(loops(graph))} two-app loops ({pairs}), apps on a cycle: {groups}"
    )


def _listing(deps: list[Dependency]) -> str:
    return "\n".join(f"  {dep}" for dep in deps)


def test_the_reader_finds_each_kind_of_dependency():
    source = """
from . import models
from ..workbooks.models import Workbook
import social.tasks

class Image(models.Model):
    workbook = models.ForeignKey("workbooks.Workbook", on_delete=models.CASCADE)

def f():
    from accounts.models import User
    apps.get_model("social", "Follow")
    jobs.later("social.tasks.fan_out", 1)
"""
    reader = _Reader("media.admin", is_package=False)
    reader.visit(ast.parse(source))
    assert [(dep.target, dep.how) for dep in reader.found] == [
        ("media.models", "import"),
        ("workbooks.models", "import"),
        ("social.tasks", "import"),
        ("workbooks", "model reference"),
        ("accounts.models", "local import"),
        ("social", "model reference"),
        ("social.tasks", "task name"),
    ]


def test_an_app_config_connects_its_receivers_in_ready():
    source = """
class MediaConfig(AppConfig):
    def ready(self):
        from .models import Image
"""
    reader = _Reader("media.apps", is_package=False)
    reader.visit(ast.parse(source))
    assert [(dep.target, dep.how) for dep in reader.found] == [("media.models", "import")]


def test_the_source_is_read():
    graph = arrows()
    assert len(dependencies()) > 100, summary()
    assert ("social", "workbooks") in graph, summary()


def test_media_depends_on_no_app_above_it():
    found = [
        dep
        for dep in dependencies()
        if dep.source_app == "media" and dep.target_app in {"accounts", "workbooks", "social"}
    ]
    assert not found, (
        f"media depends on {len(found)} things above it ({summary()}):\n{_listing(found)}"
    )


def test_no_services_module_imports_a_tasks_module():
    found = [
        dep
        for dep in dependencies()
        if dep.module.split(".")[-1] == "services"
        and dep.target.split(".")[-1] == "tasks"
        and dep.how in {"import", "local import"}
    ]
    assert not found, (
        f"{len(found)} imports of tasks from services; name the task to "
        f"sigma_playground.jobs instead:\n{_listing(found)}"
    )


def test_no_app_depends_on_an_app_above_it():
    found = upward(arrows())
    assert not found, f"{summary()}:\n" + "\n".join(
        f"{source} -> {target} ({len(deps)}):\n{_listing(deps)}"
        for (source, target), deps in sorted(found.items())
    )


def test_no_app_level_loop():
    graph = arrows()
    assert not tangles(graph), summary()


def test_an_import_inside_a_function_says_why():
    found = [
        dep
        for dep in dependencies()
        if dep.how == "local import" and (dep.module, dep.target) not in LOCAL_IMPORTS_ALLOWED
    ]
    assert not found, (
        f"{len(found)} imports inside functions without a reason in LOCAL_IMPORTS_ALLOWED; "
        f"fix the import loop, or add the real reason:\n{_listing(found)}"
    )


def test_every_allowed_local_import_is_still_there():
    local = {(dep.module, dep.target) for dep in dependencies() if dep.how == "local import"}
    assert set(LOCAL_IMPORTS_ALLOWED) <= local, set(LOCAL_IMPORTS_ALLOWED) - local
