"""The layering of the code, read from the source with ``ast``: the library never imports the UI, the CLI has no
import circle, and ``engram-probe serve`` reaches the UI only through the installed entry point."""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def modules(package: str) -> dict[str, ast.Module]:
    """Every module of ``package`` (a folder at the repository root), by dotted name, parsed."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found[name].is_package = parts[-1] == "__init__"  # type: ignore[attr-defined]
    return found


def imported(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The modules ``name`` imports anywhere in its body (inside functions too, and ``import_module("...")``).

    ``from P import X`` counts as importing ``P.X`` when that is a module, else ``P``. Importing a submodule runs its
    parent package's ``__init__`` first; that is how Python works, not an import of the package's names, so it is not
    counted.
    """
    package = name if getattr(tree, "is_package", False) else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:
                out.add(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            out.add(node.args[0].value)
    return out


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle in ``graph`` (module -> modules it imports), or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []


def test_no_library_module_imports_the_ui_package() -> None:
    library, ui = modules("engram_probe"), modules("workbench")
    assert len(library) > 50 and "workbench.app" in ui  # both trees were read
    known = set(library) | set(ui)
    offenders = sorted(
        f"{name} imports {target}"
        for name, tree in library.items()
        for target in imported(name, tree, known)
        if target == "workbench" or target.startswith("workbench.")
    )
    assert offenders == []


def test_the_cli_has_no_import_circle_and_its_framework_imports_no_command_group() -> None:
    library = modules("engram_probe")
    known = set(library)
    cli = {n for n in known if n == "engram_probe.cli" or n.startswith(("engram_probe.cli.", "engram_probe.cli_"))}
    graph = {n: imported(n, library[n], known) & cli for n in cli}
    assert cycle(graph) == []
    assert "engram_probe.cli.framework" in graph
    assert graph["engram_probe.cli.framework"] == set()
    groups = cli - {"engram_probe.cli", "engram_probe.cli.framework", "engram_probe.cli.__main__"}
    assert {"engram_probe.cli.memory", "engram_probe.cli.contract"} <= groups
    assert all("engram_probe.cli.framework" in graph[g] for g in groups)  # each group registers through the framework


def test_the_installed_metadata_registers_the_workbench_serve_that_the_cli_calls() -> None:
    from engram_probe.cli.serve import APP_NAME, APPS_GROUP

    found = [e for e in importlib.metadata.entry_points(group=APPS_GROUP) if e.name == APP_NAME]
    assert [(e.module, e.attr) for e in found] == [("workbench.app", "serve")]
    app = modules("workbench")["workbench.app"]
    serve = next(n for n in app.body if isinstance(n, ast.FunctionDef) and n.name == "serve")
    # the keywords cmd_serve passes are the function's parameters
    assert {"host", "port", "model_dir", "workdir", "auth_file"} <= {a.arg for a in serve.args.args}


def test_serve_without_an_installed_ui_refuses_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from engram_probe.cli import main

    for var in ("ENGRAM_WORKBENCH_AUTH_FILE", "ENGRAM_WORKBENCH_AUTH"):
        monkeypatch.delenv(var, raising=False)
    # an environment where no package registers a UI
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **_: importlib.metadata.EntryPoints(()))
    code = main(["serve", "--host", "0.0.0.0", "--port", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == "engram-probe serve: error: the workbench UI is not installed, so there is nothing to serve\n"


# The one-way flow, bottom to top. A module's tier is that of the longest prefix listed; an import may go to the
# same tier or lower, never higher. The report kernel (canonical JSON, digests, HTML helpers) is below the audits
# that finalise with it; the report-kind registry and verify runner are above them, since they call every kind.
TIERS: dict[str, int] = {
    "engram_probe.data": 0,
    "engram_probe.tokenizer": 0,
    "engram_probe.textio": 0,
    "engram_probe.extras": 0,
    "engram_probe.safetensors_io": 0,
    "engram_probe.concurrency": 0,
    "engram_probe.contracts": 1,
    "engram_probe.arch": 2,
    "engram_probe.memory": 3,
    "engram_probe.overlays": 3,
    "engram_probe.report.kernel": 4,
    "engram_probe.report.checks": 4,
    "engram_probe.report.html": 4,
    "engram_probe.report.printing": 4,
    "engram_probe.report.figures": 4,
    "engram_probe.report.numbers": 4,
    "engram_probe.audit": 5,
    "engram_probe.hashaudit": 5,
    "engram_probe.scale": 5,
    "engram_probe.layered": 5,
    "engram_probe.training": 5,
    "engram_probe.attest": 5,  # signs what the kernel digests; imports no audit
    "engram_probe.isolation": 6,  # a shared table's proofs build on the audits and the scans
    "engram_probe.report": 7,
    "engram_probe.cli": 8,
    "engram_probe": 8,  # the package's own __init__ (a convenience load_model)
}


def tier(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in TIERS:
            return TIERS[".".join(parts[:n])]
    raise KeyError(module)


def test_every_library_import_goes_down_the_flow_or_stays_level() -> None:
    library = modules("engram_probe")
    known = set(library)
    for name in library:
        tier(name)  # every module has a tier: a new package must be placed in TIERS
    upward = sorted(
        f"{name} (tier {tier(name)}) imports {target} (tier {tier(target)})"
        for name, tree in library.items()
        for target in imported(name, tree, known)
        if target in known and tier(target) > tier(name)
    )
    assert upward == []


def test_the_library_has_no_import_circle_between_modules() -> None:
    library = modules("engram_probe")
    known = set(library)
    graph = {n: {t for t in imported(n, library[n], known) if t in known and t != n} for n in library}
    # a package's __init__ re-exporting its own modules is not a circle
    graph = {
        n: {t for t in ts if not (getattr(library[t], "is_package", False) and n.startswith(t + "."))}
        for n, ts in graph.items()
    }
    assert cycle(graph) == []


def package_of(module: str) -> str:
    """The top-level package of a library module (``engram_probe.scale.scan`` -> ``engram_probe.scale``)."""
    return ".".join(module.split(".")[:2])


def test_no_two_packages_of_one_tier_import_each_other() -> None:
    library = modules("engram_probe")
    known = set(library)
    edges = {
        (package_of(name), package_of(target))
        for name, tree in library.items()
        for target in imported(name, tree, known)
        if target in known and package_of(name) != package_of(target) and tier(name) == tier(target)
    }
    assert ("engram_probe.hashaudit", "engram_probe.scale") in edges  # the check sees same-tier imports
    assert sorted(f"{a} <-> {b}" for a, b in edges if (b, a) in edges and a < b) == []
