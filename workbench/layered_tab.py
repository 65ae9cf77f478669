"""Layout of the "Layered memory" tab (handlers in ``workbench.layered``)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from workbench import layered as lh
from workbench.state import WorkbenchState
from workbench.tables import waiting

ABOUT = (
    "The paper's layered system: **one shared adapter** (a LoRA on Q/K/V, trained once on other users' fact "
    "statements and `Facts: … Q: … A:` items) over **per-user rows**. For the chosen user the tab builds "
    "A no edit · B per-user LoRA · C per-user rows · D = B + C · E shared adapter only · F shared adapter + rows, "
    "and two controls: F-swap (the next user's rows) and F-zero (the user's rows set to zero). "
    "E is the control that tells whether the rows add anything to reasoning."
)


def layered_tab(state: WorkbenchState) -> None:
    """Build the tab inside the caller's ``gr.Tabs``."""
    ids = lh.user_ids(state)
    with gr.Tab("Layered memory", id="tab-layered"):
        gr.Markdown(ABOUT)
        status = gr.Markdown(lh.adapter_status(state), elem_id="layered-adapter")
        with gr.Row():
            steps = gr.Number(2000, label="Adapter steps", precision=0, elem_id="layered-steps")
            train = gr.Button("Train shared adapter", elem_id="layered-train")
            upload = gr.File(label="…or upload an adapter file", type="filepath", elem_id="layered-upload")
        with gr.Row():
            user = gr.Dropdown(
                ids, value=ids[0] if ids else None, label="Test user (generated)", elem_id="layered-user"
            )
            go = gr.Button("Evaluate A–F", variant="primary", elem_id="layered-go")
        table = gr.Dataframe(
            waiting("Press Evaluate A–F to score every condition for this user."),
            label="Conditions for this user",
            elem_id="layered-table",
            interactive=False,
        )
        verdict = gr.Markdown(elem_id="layered-status")
        question = gr.Dropdown([], label="Indirect question", elem_id="layered-question")
        strip = gr.HTML(elem_id="layered-strip")
        answers = gr.Dataframe(
            waiting("Pick a question to see every condition's answer to it."),
            label="Answers by condition",
            elem_id="layered-answers",
            interactive=False,
        )
        note = gr.Markdown(elem_id="layered-note")
        with gr.Row():
            pdf = gr.Checkbox(False, label="with PDF", elem_id="layered-pdf")
            export = gr.Button("Export report", elem_id="layered-export")
        files = gr.File(label="Report files", file_count="multiple", elem_id="layered-files")
        export_status = gr.Markdown(elem_id="layered-export-status")

        def do_train(n: float, progress: gr.Progress = gr.Progress()) -> str:
            return lh.train_adapter(state, n, progress)

        def do_eval(uid: str, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
            df, questions, msg = lh.evaluate_user(state, uid, progress)
            return df, gr.update(choices=questions, value=questions[0] if questions else None), msg

        train.click(do_train, [steps], [status], api_name="layered_train", concurrency_limit=1)
        upload.upload(lambda f: lh.upload_adapter(state, f), [upload], [status], api_name="layered_upload")
        go.click(do_eval, [user], [table, question, verdict], api_name="layered_evaluate", concurrency_limit=1)
        question.change(
            lambda u, q: lh.show_question(state, u, q),
            [user, question],
            [strip, answers, note],
            api_name="layered_question",
        )

        def do_export(request: gr.Request, uid: str, with_pdf: bool) -> tuple[Any, ...]:
            with state.access.acting(request):  # the report records the logged-in operator
                return lh.export(state, uid, with_pdf)

        export.click(do_export, [user, pdf], [files, export_status], api_name="layered_export")
