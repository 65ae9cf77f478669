"""Layout of the "Isolation" tab: one user against every other user of a shared table (handlers in
``isolation_proof``, ``isolation_population`` and ``isolation_erase``)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from workbench import isolation_erase as ie
from workbench import isolation_population as ipop
from workbench import isolation_proof as ip
from workbench.pickers import Pickers
from workbench.state import WorkbenchState
from workbench.tables import waiting

ABOUT = (
    "Many users served from **one shared table**: can one user's requests be changed by, or reveal, another user's "
    "rows, and exactly where? The proof runs the model twice on the identical input, with the shared table and "
    "with the chosen user's rows alone: before the first position that reads another user's row the outputs are "
    "compared byte for byte and must be identical; from there on the tab says whose row is read, through which "
    "n-gram, and how far the answer moved."
)


def _files(prefix: str) -> tuple[gr.File, gr.Markdown]:
    return gr.File(label="Files", file_count="multiple", elem_id=f"{prefix}-files"), gr.Markdown(
        elem_id=f"{prefix}-export-status"
    )


def isolation_tab(state: WorkbenchState, pick: Pickers) -> gr.Dropdown:
    """The tab, inside the caller's ``gr.Tabs``; returns its user picker (its list follows new users)."""
    with gr.Tab("Isolation", id="tab-isolation") as tab:
        gr.Markdown(ABOUT)
        with gr.Row():
            user = pick.user("isolation")
            others = gr.Textbox(
                label="Users sharing the table, in serving order (comma-separated; empty: every user of the store)",
                elem_id="isolation-others",
            )
            policy = gr.Radio(
                list(ip.POLICY_WORDS), value="last write wins", label="Rows two users write", elem_id="isolation-policy"
            )
        texts = gr.Textbox(
            label="Probe texts, one per line (empty: the user's facts, each trigger followed by its answer)",
            lines=2,
            elem_id="isolation-texts",
        )
        go = gr.Button("Prove against every other user", variant="primary", elem_id="isolation-go")
        verdict = gr.Markdown(elem_id="isolation-verdict")
        strip = gr.Plot(label="Per position", elem_id="isolation-strip")
        reads = gr.Dataframe(
            waiting("Press Prove to list every read of another user's row."),
            label="Reads of other users' rows",
            elem_id="isolation-reads",
            interactive=False,
        )
        probes = gr.Dataframe(
            waiting("Press Prove to see each probe text's verdict."),
            label="Probe texts",
            elem_id="isolation-probes",
            interactive=False,
        )
        status = gr.Markdown(elem_id="isolation-status")
        with gr.Row():
            pdf = gr.Checkbox(False, label="with PDF", elem_id="isolation-pdf")
            export = gr.Button("Export the proof", elem_id="isolation-export")
        files, export_status = _files("isolation")
        table_in = [user, others, policy]

        def do_prove(u: str, o: str, p: str, t: str, request: gr.Request, progress: gr.Progress = gr.Progress()) -> Any:
            with state.access.acting(request):
                return ip.prove_view(state, u, o, p, t, progress)

        def do_export(
            u: str, o: str, p: str, t: str, f: bool, request: gr.Request, progress: gr.Progress = gr.Progress()
        ) -> Any:
            with state.access.acting(request):
                return ip.export_proof(state, u, o, p, t, f, progress)

        go.click(
            do_prove,
            [*table_in, texts],
            [verdict, reads, strip, probes, status],
            api_name="isolation_prove",
            concurrency_limit=2,
        )
        export.click(
            do_export, [*table_in, texts, pdf], [files, export_status], api_name="isolation_export", concurrency_limit=2
        )

        gr.Markdown(
            "### Cross-user probe\nEach user of the table is asked every other user's prompts with the shared table; "
            "every answer that is another user's is explained."
        )
        p_go = gr.Button("Run the cross-user probe", elem_id="isolation-probe-go")
        p_words = gr.Markdown(elem_id="isolation-probe-status")
        p_rates = gr.Dataframe(
            waiting("Press Run the cross-user probe to measure how often an answer is another user's."),
            label="Rates (95% Wilson intervals)",
            elem_id="isolation-probe-rates",
            interactive=False,
        )
        p_classes = gr.Dataframe(
            waiting("The probe explains every answer served from another user here."),
            label="What explains each answer served from another user",
            elem_id="isolation-probe-classes",
            interactive=False,
        )
        p_export = gr.Button("Export the probe", elem_id="isolation-probe-export")
        p_files, p_status = _files("isolation-probe")

        def do_probe(o: str, request: gr.Request, progress: gr.Progress = gr.Progress()) -> Any:
            with state.access.acting(request):
                return ipop.probe_view(state, o, progress)

        def do_probe_export(o: str, request: gr.Request, progress: gr.Progress = gr.Progress()) -> Any:
            with state.access.acting(request):
                return ipop.export_probe(state, o, progress)

        p_go.click(do_probe, [others], [p_rates, p_classes, p_words], api_name="isolation_probe", concurrency_limit=1)
        p_export.click(
            do_probe_export, [others], [p_files, p_status], api_name="isolation_probe_export", concurrency_limit=1
        )

        gr.Markdown(
            "### Exposure at population scale\nHash only, on the loaded model's address contract: synthetic "
            "users, with and without a per-user salt, measured beside the uniform-hash model."
        )
        with gr.Row():
            sizes = gr.CheckboxGroup(
                list(ipop.SIZES), value=list(ipop.SIZES), label="Users in the table", elem_id="isolation-sizes"
            )
            facts = gr.Number(10, label="Facts per user", precision=0, elem_id="isolation-facts")
        x_go = gr.Button("Measure exposure", elem_id="isolation-exposure-go")
        x_plot = gr.Plot(label="Exposure", elem_id="isolation-exposure-plot")
        x_table = gr.Dataframe(
            waiting("Press Measure exposure to measure each population size."),
            label="Requests exposed to another user's row",
            elem_id="isolation-exposure-table",
            interactive=False,
        )
        x_words = gr.Markdown(elem_id="isolation-exposure-status")
        x_export = gr.Button("Export the exposure reports", elem_id="isolation-exposure-export")
        x_files, x_status = _files("isolation-exposure")

        def do_exposure(s: list[str], n: float, progress: gr.Progress = gr.Progress()) -> Any:
            return ipop.exposure_view(state, s, n, progress)

        def do_exposure_export(s: list[str], n: float, progress: gr.Progress = gr.Progress()) -> Any:
            return ipop.export_exposure(state, s, n, progress)

        x_go.click(
            do_exposure, [sizes, facts], [x_plot, x_table, x_words], api_name="isolation_exposure", concurrency_limit=1
        )
        x_export.click(
            do_exposure_export,
            [sizes, facts],
            [x_files, x_status],
            api_name="isolation_exposure_export",
            concurrency_limit=1,
        )

        gr.Markdown(
            "### Erasure plan\nWhat erasing one of the user's facts from the shared table would restore, "
            "and the proof that no read at its positions finds its value. Nothing is erased here."
        )
        fact = gr.Dropdown([], label="Fact", elem_id="isolation-fact", allow_custom_value=True)
        e_go = gr.Button("Plan the erasure", elem_id="isolation-erase-go")
        e_words = gr.Markdown(elem_id="isolation-erase-status")
        e_rows = gr.Dataframe(
            waiting("Press Plan the erasure to see what happens to each row of the fact."),
            label="Rows of the fact",
            elem_id="isolation-erase-rows",
            interactive=False,
        )
        e_share = gr.Dataframe(
            waiting("Other users' facts that share the fact's rows are listed here."),
            label="Other users' facts sharing its rows",
            elem_id="isolation-erase-sharing",
            interactive=False,
        )
        e_export = gr.Button("Export the plan", elem_id="isolation-erase-export")
        e_files, e_status = _files("isolation-erase")

        def do_facts(u: str, request: gr.Request) -> Any:
            with state.access.acting(request):
                return ie.fact_choices(state, u)

        def do_plan(u: str, o: str, f: str, request: gr.Request) -> Any:
            with state.access.acting(request):
                return ie.plan_view(state, u, o, f)

        def do_plan_export(u: str, o: str, f: str, request: gr.Request) -> Any:
            with state.access.acting(request):
                return ie.export_plan(state, u, o, f)

        user.change(do_facts, [user], [fact], api_name="isolation_facts")
        tab.select(do_facts, [user], [fact], api_visibility="undocumented")  # the list is filled when the tab opens
        e_go.click(do_plan, [user, others, fact], [e_words, e_rows, e_share], api_name="isolation_erase_plan")
        e_export.click(
            do_plan_export, [user, others, fact], [e_files, e_status], api_name="isolation_erase_plan_export"
        )
    return user
