"""Gradio layout of the four audit-view tabs: where a fact switches on, the locality proof, wrong layer, LoRA."""

from __future__ import annotations

from typing import Any

import gradio as gr

from workbench import audit_views, contrast_views
from workbench.pickers import Pickers
from workbench.state import WorkbenchState
from workbench.tables import waiting


def view_tabs(state: WorkbenchState, pick: Pickers) -> list[gr.Dropdown]:
    """The four tabs, inside the caller's ``gr.Tabs``; returns their user pickers (their lists follow new users)."""
    with gr.Tab("Where it switches on", id="tab-switch"):
        s_user, s_text = pick.user_and_probe("switch")
        s_go = gr.Button("Show", variant="primary", elem_id="switch-go")
        s_strip = gr.Plot(label="Read map", elem_id="switch-strip")
        s_gate = gr.Plot(label="Gate α", elem_id="switch-gate")
        s_table = gr.Dataframe(
            waiting("Press Show to list the positions that read the user’s rows."),
            label="At the write sites",
            elem_id="switch-table",
            interactive=False,
        )
        s_status = gr.Markdown(elem_id="switch-status")

        def do_switch(
            uid: str, text: str, request: gr.Request, progress: gr.Progress = gr.Progress()
        ) -> tuple[Any, ...]:
            with state.access.acting(request):
                return audit_views.switch_on(state, uid, text, progress)

        s_go.click(
            do_switch,
            [s_user, s_text],
            [s_strip, s_gate, s_table, s_status],
            api_name="switch_on",
            concurrency_limit=4,
        )

    with gr.Tab("Locality proof", id="tab-proof"):
        p_user, p_text = pick.user_and_probe("proof")
        p_go = gr.Button("Prove", variant="primary", elem_id="proof-go")
        p_verdict = gr.Markdown(elem_id="proof-verdict")
        p_heat = gr.Plot(label="Change per position and layer", elem_id="proof-heatmap")
        p_table = gr.Dataframe(
            waiting("Press Prove to classify every position and compare its bytes."),
            label="Position classes",
            elem_id="proof-table",
            interactive=False,
        )

        def do_proof(
            uid: str, text: str, request: gr.Request, progress: gr.Progress = gr.Progress()
        ) -> tuple[Any, ...]:
            with state.access.acting(request):
                return audit_views.locality_proof(state, uid, text, progress)

        p_go.click(
            do_proof,
            [p_user, p_text],
            [p_heat, p_table, p_verdict],
            api_name="locality_proof",
            concurrency_limit=4,
        )

    with gr.Tab("Wrong layer", id="tab-layer"):
        l_user = pick.user("layer")
        with gr.Row():
            l_n = gr.Slider(1, 20, value=6, step=1, label="Facts to re-write", elem_id="layer-n")
            l_strategy = gr.Radio(
                ["user's own", "unembed", "opt", "joint"],
                value="user's own",
                label="Strategy for the re-writes (same budget at both layers)",
                elem_id="layer-strategy",
            )
        l_go = gr.Button("Compare layers", variant="primary", elem_id="layer-go")
        l_fig = gr.Plot(label="Recall", elem_id="layer-fig")
        l_table = gr.Dataframe(
            waiting("Press Compare layers to re-write the facts in each Engram layer."),
            elem_id="layer-table",
            interactive=False,
        )
        l_status = gr.Markdown(elem_id="layer-status")

        def do_layers(
            uid: str, n: float, strategy: str, request: gr.Request, progress: gr.Progress = gr.Progress()
        ) -> tuple[Any, ...]:
            with state.access.acting(request):
                return contrast_views.wrong_layer(state, uid, n, strategy, progress)

        l_go.click(
            do_layers,
            [l_user, l_n, l_strategy],
            [l_fig, l_table, l_status],
            api_name="wrong_layer",
            concurrency_limit=2,
        )

    with gr.Tab("LoRA contamination", id="tab-lora"):
        r_user, r_text = pick.user_and_probe("lora")
        r_go = gr.Button("Compare with a per-user LoRA", variant="primary", elem_id="lora-go")
        r_fig = gr.Plot(label="Engram vs LoRA", elem_id="lora-fig")
        r_table = gr.Dataframe(
            waiting("Press Compare to train a per-user LoRA and compare it with the rows."),
            elem_id="lora-table",
            interactive=False,
        )
        r_status = gr.Markdown(elem_id="lora-status")

        def do_lora(uid: str, text: str, request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
            with state.access.acting(request):
                return contrast_views.lora_contamination(state, uid, text, progress)

        r_go.click(
            do_lora,
            [r_user, r_text],
            [r_fig, r_table, r_status],
            api_name="lora_contamination",
            concurrency_limit=2,
        )
    return [s_user, p_user, l_user, r_user]
