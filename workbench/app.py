"""Gradio layout: eleven tabs, each a thin view over a handler module (users_tab, audit_views, history_tab, ...)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import gradio as gr

from engram_probe.attest.keys import key_id
from engram_probe.contracts import CONTRACT_NAMES
from engram_probe.contracts.workbench_config import DEFAULT_LAYER
from engram_probe.overlays.registry import formats_help
from workbench import export_tab, users_tab
from workbench import production as prod
from workbench.access import check_binding, load_policy
from workbench.ask_box import ask_box
from workbench.history_tab import history_tab
from workbench.isolation_tab import isolation_tab
from workbench.layered_tab import layered_tab
from workbench.pickers import Pickers
from workbench.signing import startup_key
from workbench.state import WorkbenchState, make_state
from workbench.tables import waiting
from workbench.verify_inputs import store_note
from workbench.view_tabs import view_tabs

INTRO = (
    "# Engram Workbench\n"
    "Audit per-user memory stored as row overrides in an Engram model: where a fact switches on, proof that "
    "every other position is unchanged to the last bit, and what happens in the wrong layer or as a LoRA."
)


def build_app(state: WorkbenchState) -> gr.Blocks:
    # with operator accounts the lists are filled per operator after login, so no user id is in the page itself
    users = [] if state.access.enabled else users_tab.user_choices(state)
    first = users[0] if users else None
    pick = Pickers(users, first, state.demo_probes.get(first or "", "My name is"))

    with gr.Blocks(title="Engram Workbench") as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("Model & users", id="tab-model"):
                user1 = gr.Dropdown(users, value=first, label="User", elem_id="user-pick", allow_custom_value=True)
                card = gr.Markdown(users_tab.model_card(state), elem_id="model-card")
                facts = gr.Dataframe(
                    waiting("Pick a user to list their facts."), label="Facts", elem_id="facts-table", interactive=False
                )
                status1 = gr.Markdown(elem_id="user-status")
                refresh = gr.Button("Refresh", elem_id="refresh-users")

                def show(uid: str | None, request: gr.Request) -> tuple[Any, ...]:
                    with state.access.acting(request):
                        c, df, s = users_tab.show_user(state, uid)
                        return c, df, s, gr.update(choices=users_tab.user_choices(state))

                user1.change(show, [user1], [card, facts, status1, user1], api_name="show_user")
                refresh.click(show, [user1], [card, facts, status1, user1], api_name="refresh")
                a_user = ask_box(state, pick)

            with gr.Tab("Write a fact", id="tab-write"):
                with gr.Row():
                    w_user = gr.Textbox(value=first or "", label="User (new id creates a user)", elem_id="write-user")
                    w_strategy = gr.Radio(
                        ["unembed", "opt", "joint"], value="opt", label="Strategy", elem_id="write-strategy"
                    )
                    w_layer = gr.Radio(
                        ["early", "late"], value=DEFAULT_LAYER, label="Engram layer", elem_id="write-layer"
                    )
                w_prompt = gr.Textbox(
                    label="Trigger prompt (ends just before the answer)",
                    value="My favorite tea is",
                    elem_id="write-prompt",
                )
                w_answer = gr.Textbox(label="Answer", value="oolong", elem_id="write-answer")
                w_supersede = gr.Checkbox(
                    False,
                    label="Replace my existing fact for this trigger (it is erased first; the ledger records both)",
                    elem_id="write-supersede",
                )
                w_go = gr.Button("Write", variant="primary", elem_id="write-go")
                w_out = gr.Markdown(elem_id="write-result")
                w_rows = gr.Dataframe(
                    waiting("Write a fact to see the rows it occupies."),
                    label="Rows written",
                    elem_id="write-rows",
                    interactive=False,
                )
                w_status = gr.Markdown(elem_id="write-status")

                def do_write(
                    uid: str,
                    prompt: str,
                    answer: str,
                    strategy: str,
                    layer: str,
                    request: gr.Request,
                    supersede: bool = False,
                    progress: gr.Progress = gr.Progress(),
                ) -> tuple[Any, ...]:
                    with state.access.acting(request):
                        return users_tab.write_fact(state, uid, prompt, answer, strategy, layer, progress, supersede)

                w_go.click(
                    do_write,
                    [w_user, w_prompt, w_answer, w_strategy, w_layer, w_supersede],
                    [w_out, w_rows, w_status],
                    api_name="write_fact",
                    concurrency_limit=4,
                ).then(lambda: False, None, w_supersede, api_visibility="undocumented")  # each replace is asked anew

            s_user, p_user, l_user, r_user = view_tabs(state, pick)
            h_user = history_tab(state, pick)

            with gr.Tab("Export", id="tab-export"):
                e_user, e_text = pick.user_and_probe("export")
                e_contrast = gr.Checkbox(
                    False, label="Include contrasts (slower: trains a LoRA)", elem_id="export-contrast"
                )
                with gr.Row():
                    e_key = gr.File(
                        label="Sign with a private key (optional: read for this export only, then deleted)",
                        elem_id="export-sign-key",
                        type="filepath",
                    )
                    e_server = gr.Checkbox(
                        state.sign_key is not None,
                        label=f"Sign with this server's key (key {key_id(state.sign_key)})" if state.sign_key else "",
                        visible=state.sign_key is not None,
                        elem_id="export-sign-server",
                    )
                e_go = gr.Button("Export report", variant="primary", elem_id="export-go")
                e_files = gr.File(label="Report files", elem_id="export-files", file_count="multiple")
                e_status = gr.Markdown(elem_id="export-status")
                gr.Markdown("### Verify a report")
                gr.Markdown(store_note(state.store_kept), elem_id="verify-store")
                v_file = gr.File(label="Upload a JSON report", elem_id="verify-upload", file_types=[".json"])
                v_inputs = gr.File(
                    label="…and, for a hash-only report, the files it read (matched by digest; never by path)",
                    elem_id="verify-inputs",
                    file_count="multiple",
                )
                v_key = gr.File(
                    label="…and, for a signed report, the signer's public key or a trusted-keys file",
                    elem_id="verify-key",
                    type="filepath",
                )
                v_go = gr.Button("Verify", elem_id="verify-go")
                v_sig = gr.HTML(elem_id="verify-signature")
                v_sig_shown = gr.State("")
                v_verdict = gr.Markdown(elem_id="verify-verdict")
                v_table = gr.Dataframe(
                    waiting("Upload a JSON report and press Verify."), elem_id="verify-table", interactive=False
                )

                def do_export(
                    uid: str,
                    text: str,
                    contrast: bool,
                    request: gr.Request,
                    key: Any = None,
                    server_key: bool = False,
                    progress: gr.Progress = gr.Progress(),
                ) -> tuple[Any, ...]:
                    with state.access.acting(request):
                        return export_tab.export_report(state, uid, text, contrast, progress, key, server_key)

                e_go.click(
                    do_export,
                    [e_user, e_text, e_contrast, e_key, e_server],
                    [e_files, e_status],
                    api_name="export_report",
                    concurrency_limit=2,
                ).then(lambda: None, None, e_key, api_visibility="undocumented")  # its upload is already deleted

                def do_verify(request: gr.Request, upload: Any, inputs: Any = None, key: Any = None) -> tuple[Any, ...]:
                    with state.access.acting(request):
                        return export_tab.verify_upload(state, upload, inputs, key)

                # the signature's block rides in a state (not an output of the call), then is shown above the checks
                v_go.click(
                    do_verify,
                    [v_file, v_inputs, v_key],
                    [v_verdict, v_table, v_sig_shown],
                    api_name="verify_report",
                    concurrency_limit=2,
                ).then(lambda shown: shown, [v_sig_shown], [v_sig], api_name="verify_signature")

            with gr.Tab("Production models", id="tab-production"):
                gr.Markdown(
                    "Hash-only audits of other Engram models from their **address contract**: no weights, no "
                    "forward pass. Pick a contract (V4.1-Flash and Qwen3.8-Flash-Next have presets), optionally "
                    "upload its config / GGUF metadata and tokenizer, and upload overlays "
                    f"({formats_help(markdown=True)}) with their `.facts.json` sidecars."
                )
                with gr.Row():
                    m_contract = gr.Dropdown(
                        list(CONTRACT_NAMES), value="qwen3.8-ple", label="Contract", elem_id="prod-contract"
                    )
                    m_config = gr.File(
                        label="Config / GGUF metadata (optional)", elem_id="prod-config", type="filepath"
                    )
                    m_tok = gr.File(label="tokenizer.json (optional)", elem_id="prod-tokenizer", type="filepath")
                m_overlays = gr.File(
                    label="Overlays and facts sidecars", elem_id="prod-overlays", file_count="multiple", type="filepath"
                )
                m_show = gr.Button("Show contract", elem_id="prod-show")
                m_card = gr.Markdown(elem_id="prod-card")
                m_cols = gr.Dataframe(
                    waiting("Press Show contract to list its columns."),
                    label="Columns",
                    elem_id="prod-columns",
                    interactive=False,
                )
                m_census = gr.Button("Row census", variant="primary", elem_id="prod-census")
                m_facts = gr.Dataframe(
                    waiting("Upload overlays and press Row census."),
                    label="Per fact: how its rows are shared",
                    elem_id="prod-facts",
                    interactive=False,
                )
                m_pairs = gr.Dataframe(
                    waiting("Row census lists the rows that each pair of users both write."),
                    label="Between users",
                    elem_id="prod-pairs",
                    interactive=False,
                )
                m_conf = gr.Dataframe(
                    waiting("Row census lists rows written with different values."),
                    label="Conflicts (same row, different values)",
                    elem_id="prod-conflicts",
                    interactive=False,
                )
                m_text = gr.Textbox(
                    label="Text (needs a tokenizer) or token ids separated by spaces",
                    value="7 999 2000 3000 1",
                    elem_id="prod-text",
                )
                m_read = gr.Button("Read map", elem_id="prod-readmap")
                m_strip = gr.HTML(elem_id="prod-strip-box")
                m_hits = gr.Dataframe(
                    waiting("Press Read map to list the positions that read an edited row."),
                    label="Reads of edited rows",
                    elem_id="prod-hits",
                    interactive=False,
                )
                with gr.Row():
                    m_kind = gr.Radio(["census", "readmap"], value="census", label="Report", elem_id="prod-kind")
                    m_export = gr.Button("Export report", elem_id="prod-export")
                m_files = gr.File(label="Report files", elem_id="prod-files", file_count="multiple")
                m_status = gr.Markdown(elem_id="prod-status")
                files_in = [m_contract, m_config, m_tok]
                m_show.click(prod.show_contract, files_in, [m_card, m_cols, m_status], api_name="contract_show")

                def do_census(name: str, config: Any, tok: Any, ovs: Any, progress: gr.Progress = gr.Progress()) -> Any:
                    return prod.census(name, config, tok, ovs, progress)

                m_census.click(
                    do_census,
                    [*files_in, m_overlays],
                    [m_facts, m_pairs, m_conf, m_status],
                    api_name="contract_census",
                    concurrency_limit=2,
                )
                m_read.click(
                    prod.read_map,
                    [*files_in, m_overlays, m_text],
                    [m_strip, m_hits, m_status],
                    api_name="contract_readmap",
                )

                def do_contract_export(
                    request: gr.Request, kind: str, name: str, config: Any, tok: Any, ovs: Any, text: str
                ) -> Any:
                    with state.access.acting(request):  # the report records the logged-in operator
                        op = state.access.current.name
                        return prod.export(kind, name, config, tok, ovs, text, state.download_dir(), op)

                m_export.click(
                    do_contract_export,
                    [m_kind, *files_in, m_overlays, m_text],
                    [m_files, m_status],
                    api_name="contract_export",
                )

            layered_tab(state)
            i_user = isolation_tab(state, pick)

        # user lists follow new users created in the write tab, and show only the users the operator may read
        pickers = [user1, a_user, s_user, p_user, l_user, r_user, h_user, e_user, i_user]

        def refresh_choices(request: gr.Request) -> tuple[Any, ...]:
            with state.access.acting(request):
                choices = users_tab.user_choices(state)
            return tuple(gr.update(choices=choices) for _ in pickers)

        def on_load(uid: str | None, request: gr.Request) -> tuple[Any, ...]:
            with state.access.acting(request):
                choices = users_tab.user_choices(state)
                uid = uid if uid in choices else (choices[0] if choices else None)
                if uid:
                    c, df, s = users_tab.show_user(state, uid)
                else:
                    c, df, s = users_tab.model_card(state), None, "No users to show yet."
            picks = [gr.update(choices=choices, value=uid) for _ in pickers]
            return (c, df if df is not None else gr.update(), s, *picks)

        w_go.click(refresh_choices, [], pickers, api_visibility="undocumented")
        demo.load(on_load, [user1], [card, facts, status1, *pickers], api_visibility="undocumented")
    return demo


def serve(
    host: str = "127.0.0.1",
    port: int = 7860,
    model_dir: str | None = None,
    workdir: str | None = None,
    block: bool = True,
    auth_file: str | None = None,
    demo_users: bool = True,
    engram: str | None = None,
    sign_key: str | None = None,
) -> tuple[gr.Blocks, str, WorkbenchState]:
    """Serve the workbench. Refused before anything loads when a non-loopback address has no operator accounts, or
    when ``sign_key`` (the private key exports may be signed with) is missing or not an Ed25519 private key."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    access = load_policy(auth_file)
    check_binding(host, access)
    key = startup_key(sign_key) if sign_key else None
    state = make_state(model_dir, workdir, demo=demo_users, access=access, engram=engram)
    state.sign_key = key
    demo = build_app(state)
    demo.queue(default_concurrency_limit=4)
    if block:  # before the server says it is serving, so that a Ctrl-C right after that line is handled
        stop_on_signals(demo, state)
    # Nothing of ours is in allowed_paths: the server hands out only files it copied into its cache for the caller
    # (reports made in a fresh download folder per request). The work folder (the store) and the model folder are
    # blocked outright, so that no route can serve them even by mistake.
    blocked = [str(Path(state.workdir).resolve())] + ([str(Path(state.lm.path).resolve())] if state.lm.path else [])
    _, url, _ = demo.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        ssr_mode=False,
        blocked_paths=blocked,
        auth=access.login if access.enabled else None,
    )
    print(f"[workbench] serving on {url}" + (" (operators log in)" if access.enabled else ""), flush=True)
    if block:
        demo.block_thread()
    return demo, url, state


def stop_on_signals(demo: gr.Blocks, state: WorkbenchState) -> None:
    """Ctrl-C or SIGTERM: close the server and the store, then leave at once (the queue's threads never block exit)."""

    def stop(signum: int, _frame: Any) -> None:
        print(f"[workbench] stopping ({signal.Signals(signum).name})", flush=True)
        try:
            demo.close()
        finally:
            state.store.close()
            os._exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
