"""The report-kind registry and the one verify entry point: ``verify_file(path, **options)`` for every kind.

A kind says how it is recognised (its ``format`` field), which top-level sections it must have, how it is
verified (re-derived from what it records) and how it is rendered to HTML. The built-in kinds register at
the bottom of this module, in one place; their code is imported only when a report of that kind is met,
so verifying a hash-only report never loads torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from engram_probe.report.kernel import ReportError, read_json_file


@dataclass(frozen=True)
class VerifyOptions:
    """What verify may use besides the report. Paths inside a report are hints, used only with ``open_files``.

    The web UI passes its own ``lm`` and ``store`` and ``open_files=False``: nothing named in an uploaded
    report is opened. The CLI passes the operator's paths.
    """

    model_dir: str | Path | None = None
    store_path: str | Path | None = None
    memory_path: str | Path | None = None
    lm: Any = None  # a LoadedModel
    store: Any = None  # a MemoryStore
    open_files: bool = True
    adapter_path: str | Path | None = None  # layered reports: the shared adapter file
    adapter: Any = None  # layered reports: a SharedAdapter already loaded against ``lm``
    config_path: str | Path | None = None  # population reports: the contract's config, where not its preset
    tokenizer_path: str | Path | None = None  # population reports: the contract's tokenizer
    heldout_path: str | Path | None = None  # audit reports: the held-out texts file the contrasts used
    engram_dir: str | Path | None = None  # the engram-peft adapter folder of a Hugging Face base model
    progress: Any = None


Verifier = Callable[[Path, dict[str, Any], VerifyOptions], dict[str, Any]]
Renderer = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class ReportKind:
    """One kind of report: its name, its ``format`` field, required sections, verify and HTML."""

    name: str
    format: str
    sections: tuple[str, ...]
    verify: Verifier
    render_html: Renderer
    older: tuple[str, ...] = ()  # earlier ``format`` strings of this kind that still verify

    def formats(self) -> tuple[str, ...]:
        return (self.format, *self.older)


_KINDS: dict[str, ReportKind] = {}


def register(kind: ReportKind) -> ReportKind:
    """Add a kind; a second kind with the same name or format is refused."""
    for other in _KINDS.values():
        if kind.name == other.name or set(kind.formats()) & set(other.formats()):
            raise ValueError(f"report kind {kind.name!r} ({kind.format}) is already registered")
    for fmt in kind.formats():
        _KINDS[fmt] = kind
    return kind


def kinds() -> list[ReportKind]:
    """Every registered kind, in registration order."""
    return list(dict.fromkeys(_KINDS.values()))


def kind_of(doc: Any, name: str = "the report") -> ReportKind:
    """The kind of a parsed report, or a one-line ReportError naming its format and the known ones."""
    fmt = doc.get("format") if isinstance(doc, dict) else None
    kind = _KINDS.get(fmt) if isinstance(fmt, str) else None
    if kind is None:
        known = ", ".join(f"{k.name} ({k.format})" for k in kinds())
        raise ReportError(f"{name} is not an engram-probe report (format {fmt!r}); known formats: {known}")
    missing = [s for s in kind.sections if s not in doc]
    if missing:
        raise ReportError(f"{name} lacks the '{missing[0]}' section of a {kind.name} report")
    return kind


def read_report(path: str | Path) -> tuple[dict[str, Any], ReportKind]:
    """A report file, parsed, with its kind; any problem is one ReportError line naming the file."""
    p = Path(path)
    doc = read_json_file(p)
    return doc, kind_of(doc, p.name)


def _failed(check: str, detail: str) -> dict[str, Any]:
    return {"ok": False, "checks": [{"check": check, "ok": False, "detail": detail}], "mismatches": []}


def verify_file(path: str | Path, **options: Any) -> dict[str, Any]:
    """Verify a report of any registered kind: {ok, checks, mismatches}; ``ok`` is False on any failure.

    ``options`` are ``VerifyOptions`` fields (model_dir, store_path, memory_path, lm, store, open_files,
    adapter_path, adapter, config_path, tokenizer_path, heldout_path, progress); a kind uses those it needs.
    """
    known = {f.name for f in fields(VerifyOptions)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"verify has no option {unknown[0]!r}; it takes: {', '.join(sorted(known))}")
    opts = VerifyOptions(**options)
    try:
        doc, kind = read_report(path)
    except ReportError as exc:
        return _failed("readable report", str(exc))
    try:
        return kind.verify(Path(path), doc, opts)
    except (KeyError, IndexError, TypeError) as exc:  # a field deeper in the report is missing or of the wrong kind
        return _failed("well-formed report", f"{Path(path).name}: a field verify needs is missing or malformed ({exc})")


def render_html(doc: dict[str, Any]) -> str:
    """A parsed report of any registered kind as its standalone HTML page."""
    return kind_of(doc).render_html(doc)


def write_html(doc: dict[str, Any], path: str | Path) -> Path:
    """A parsed report of any registered kind as HTML at ``path`` (the writer ``write_report_files`` takes)."""
    from engram_probe.report.html import write_page

    return write_page(render_html(doc), path)


# --------------------------------------------------------------------------- the built-in kinds
def _verify_audit(path: Path, _doc: dict[str, Any], o: VerifyOptions) -> dict[str, Any]:
    from engram_probe.report.verify import verify_report

    if not o.open_files and o.lm is None:  # without files of its own, only a loaded model can re-run an audit
        return _failed("model", "not re-run here: an audit is re-run only against a model loaded by the caller")
    return verify_report(
        path,
        o.model_dir,
        lm=o.lm,
        store=o.store,
        store_path=o.store_path,
        memory_path=o.memory_path,
        heldout_path=o.heldout_path,
        engram_dir=o.engram_dir,
    )


def _html_audit(doc: dict[str, Any]) -> str:
    from engram_probe.report.render import render_html as audit_html

    return audit_html(doc)


def _verify_contract(_path: Path, doc: dict[str, Any], o: VerifyOptions) -> dict[str, Any]:
    from engram_probe.hashaudit.report import verify_contract_report

    return verify_contract_report(doc, open_files=o.open_files)


def _html_contract(doc: dict[str, Any]) -> str:
    from engram_probe.hashaudit.render import render_contract_html

    return render_contract_html(doc)


def _verify_layered(path: Path, doc: dict[str, Any], o: VerifyOptions) -> dict[str, Any]:
    from engram_probe.arch.loaded import ModelFileError
    from engram_probe.arch.loading import open_model
    from engram_probe.layered.adapter import AdapterError, load_adapter
    from engram_probe.layered.verify import VerifyError, verify_layered

    hints = o.open_files and o.lm is None  # a report's paths are followed only in the CLI

    def hint(section: str, is_there: Callable[[Path], bool]) -> str | None:
        where = doc.get(section, {}).get("path") if isinstance(doc.get(section), dict) else None
        return where if hints and isinstance(where, str) and is_there(Path(where)) else None

    lm = o.lm
    if lm is None:
        try:
            lm = open_model(o.model_dir or hint("model", Path.is_dir))
        except ModelFileError as exc:
            return _failed("model", str(exc))
    adapter = o.adapter
    if adapter is None:
        where = o.adapter_path or hint("adapter", Path.is_file)
        if where is None:
            return _failed("adapter", "give the shared adapter file the report was made with (--adapter FILE)")
        try:
            adapter = load_adapter(where, lm)
        except AdapterError as exc:
            return _failed("adapter", str(exc))
    try:
        return verify_layered(path, lm, adapter, o.progress)
    except VerifyError as exc:
        return _failed("readable report", str(exc))


def _html_layered(doc: dict[str, Any]) -> str:
    from engram_probe.layered.report import render_html as layered_html

    return layered_html(doc)


def _verify_population(_path: Path, doc: dict[str, Any], o: VerifyOptions) -> dict[str, Any]:
    from engram_probe.scale.population_report import verify_population

    return verify_population(doc, o.config_path, o.tokenizer_path)


def _html_population(doc: dict[str, Any]) -> str:
    from engram_probe.scale.population_render import render_population_html

    return render_population_html(doc)


def _verify_isolation(_path: Path, doc: dict[str, Any], o: VerifyOptions) -> dict[str, Any]:
    from engram_probe.isolation.prove_report import verify_isolation

    if not o.open_files and o.lm is None:  # without files of its own, only a loaded model can re-run a proof
        return _failed("model", "not re-run here: an isolation proof is re-run only against a model the caller loaded")
    return verify_isolation(doc, o)


def _html_isolation(doc: dict[str, Any]) -> str:
    from engram_probe.isolation.prove_report import render_html as isolation_html

    return isolation_html(doc)


# The format strings are the ones the writers stamp (engram_probe.audit.engine.REPORT_FORMAT,
# hashaudit.report.CONTRACT_REPORT_FORMAT, layered.evaluate.LAYERED_FORMAT, scale.population_report.
# POPULATION_FORMAT, isolation.prove_report.ISOLATION_FORMAT); written out here so that recognising a report
# imports none of them (a test keeps them equal).
AUDIT = register(
    ReportKind(
        "audit",
        "engram-probe-report/2",
        ("digests", "model", "memory", "probe", "summary"),
        _verify_audit,
        _html_audit,
        older=("engram-probe-report/1",),  # read-map hits said head for the column
    )
)
CONTRACT = register(
    ReportKind(
        "contract",
        "engram-probe-contract-report/1",
        ("kind", "contract", "inputs", "input_sha256", "result", "digests"),
        _verify_contract,
        _html_contract,
    )
)
LAYERED = register(
    ReportKind(
        "layered",
        "engram-probe-layered/1",
        ("model", "adapter", "test_users", "settings", "users", "aggregate", "digests"),
        _verify_layered,
        _html_layered,
    )
)
POPULATION = register(
    ReportKind(
        "population",
        "engram-probe-population-census/1",
        ("placement", "result"),  # reports written before population digests have no 'digests'
        _verify_population,
        _html_population,
    )
)


def _verify_exposure(_path: Path, doc: dict[str, Any], o: VerifyOptions) -> dict[str, Any]:
    from engram_probe.isolation.exposure_report import verify_exposure

    return verify_exposure(doc, o.config_path, o.tokenizer_path)


def _html_exposure(doc: dict[str, Any]) -> str:
    from engram_probe.isolation.exposure_report import render_exposure_html

    return render_exposure_html(doc)


# isolation.exposure_report.EXPOSURE_FORMAT, written out as the formats above
EXPOSURE = register(
    ReportKind(
        "exposure",
        "engram-probe-isolation-exposure/1",
        ("placement", "result", "digests"),
        _verify_exposure,
        _html_exposure,
    )
)
ISOLATION = register(
    ReportKind(
        "isolation",
        "engram-probe-isolation/1",
        ("digests", "model", "table", "user", "probes", "summary"),
        _verify_isolation,
        _html_isolation,
    )
)
