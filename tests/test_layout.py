"""The shape of the package: every module imports only modules below it, so there is no
import circle and the file order below is the pipeline."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cctrack"
# Bottom to top: a module may import only modules listed before it.
LAYERS = [
    "cctrack",
    "cctrack.model",
    "cctrack.errors",
    "cctrack.timefmt",
    "cctrack.redact",
    "cctrack.exposition",
    "cctrack.sends",
    "cctrack.thresholds",
    "cctrack.evidence",
    "cctrack.status",
    "cctrack.records",
    "cctrack.cycles",
    "cctrack.tokens",
    "cctrack.tokens.rules",
    "cctrack.tokens.prices",
    "cctrack.tokens.projects",
    "cctrack.files",
    "cctrack.net",
    "cctrack.process",
    "cctrack.sources",
    "cctrack.sources.params",
    "cctrack.sources.claude",
    "cctrack.sources.claude.saved",
    "cctrack.sources.claude.statusline",
    "cctrack.sources.claude.keychain",
    "cctrack.sources.claude.oauth",
    "cctrack.sources.claude.cached",
    "cctrack.sources.claude.combined",
    "cctrack.sources.codex",
    "cctrack.sources.account",
    "cctrack.sources.activity",
    "cctrack.sources.codexbar",
    "cctrack.sources.builtin",
    "cctrack.sources.__main__",
    "cctrack.settings",
    "cctrack.store",
    "cctrack.retention",
    "cctrack.tokens.db",
    "cctrack.tokens.listing",
    "cctrack.tokens.scan",
    "cctrack.rollup",
    "cctrack.state",
    "cctrack.checkpoint",
    "cctrack.base",
    "cctrack.fold",
    "cctrack.report",
    "cctrack.views",
    "cctrack.views.wording",
    "cctrack.textfile",
    "cctrack.sinks",
    "cctrack.sinks.pushgateway",
    "cctrack.sinks.remote_write",
    "cctrack.sinks.otlp",
    "cctrack.views.latest",
    "cctrack.views.show",
    "cctrack.views.desk",
    "cctrack.views.hook",
    "cctrack.views.history",
    "cctrack.views.page",
    "cctrack.notify",
    "cctrack.capture",
    "cctrack.analyze",
    "cctrack.demo",
    "cctrack.shipped",
    "cctrack.install",
    "cctrack.cli",
    "cctrack.__main__",
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cctrack"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("cctrack")}
    return found & set(LAYERS)


def test_every_module_has_a_place_in_the_layers() -> None:
    assert sorted(module_name(p) for p in PACKAGE.rglob("*.py")) == sorted(LAYERS)


def test_no_module_imports_one_above_it() -> None:
    upward = []
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        for target in imports_of(path) - {name}:
            if LAYERS.index(target) > LAYERS.index(name):
                upward.append(f"{name} imports {target}")
    assert upward == []


def test_the_readmes_source_map_follows_the_layers() -> None:
    """Every module is in the source map (docs/development.md), in the order of the layers."""
    import re

    readme = (PACKAGE.parent / "docs" / "development.md").read_text()
    table = readme.split("## Source map", 1)[1].split("\n\n", 2)[2].split("\n\n", 1)[0]
    named = []
    for row in table.splitlines()[2:]:
        for cell in re.findall(r"`([a-z_/]+(?:\.py)?)`", row.split("|")[1]):
            named.append("cctrack." + cell.removesuffix(".py").removesuffix("/").replace("/", "."))
    order = [LAYERS.index(name) for name in named]
    assert order == sorted(order), named
    covered = {m for m in LAYERS if any(m == n or m.startswith(n + ".") for n in named)}
    assert covered == set(LAYERS) - {"cctrack", "cctrack.__main__"}
