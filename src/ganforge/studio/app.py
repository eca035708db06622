"""The studio's page: one tab per task (from `tabs.studio_tabs`), served on this machine only unless a host is
given, with telemetry off, no share link, local fonts, a request queue and upload limits."""

from __future__ import annotations

import sys
from typing import Any

from ganforge.studio import require_gradio
from ganforge.studio.context import StudioContext
from ganforge.studio.tabs import StudioTab, own_tabs, studio_tabs

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
INTRO = ("Models are listed from the runs folder, the models folder, the shipped zoo and the paths given to "
         "`ganforge studio`; each tab lists only those it can use. Requests are queued: one runs at a time.")


def theme() -> Any:
    """Gradio's default look with fonts served from the wheel itself (no font service is asked for anything)."""
    gr = require_gradio()
    fonts = gr.themes.LocalFont
    return gr.themes.Default(
        font=(fonts("Source Sans Pro", weights=(400, 600)), "ui-sans-serif", "system-ui", "sans-serif"),
        font_mono=(fonts("IBM Plex Mono", weights=(400, 600)), "ui-monospace", "Consolas", "monospace"),
    )


def build_app(ctx: StudioContext, tabs: list[StudioTab] | None = None, concurrency: int = 1) -> Any:
    """The gr.Blocks of the studio (the tasks' tabs, then Evaluate and Train); `concurrency` requests of a kind run at
    once, the rest wait in the queue."""
    gr = require_gradio()
    tabs = [*studio_tabs(), *own_tabs()] if tabs is None else tabs
    with gr.Blocks(title="ganforge studio", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        gr.Markdown(f"# ganforge studio\n{INTRO}")
        ctx.app = app
        for tab in tabs:
            with gr.Tab(tab.title):
                tab.build(ctx)
    app.queue(default_concurrency_limit=max(1, int(concurrency)), max_size=32)
    return app


def is_local(host: str) -> bool:
    return host in LOCAL_HOSTS or host.startswith("127.")


def host_warning(host: str, port: int | None) -> str | None:
    """What to tell the user who serves the studio beyond this machine (None for a local address)."""
    if is_local(host):
        return None
    return (f"the studio listens on {host}: anyone who can reach this machine on port {port or 'the chosen one'} "
            "can use it and its models (there is no login); give no --host to keep it on this machine")


def launch(app: Any, ctx: StudioContext, host: str = "127.0.0.1", port: int | None = None, quiet: bool = False) -> str:
    """Serve the app in a background thread and return its URL (the caller blocks, and closes it)."""
    warning = host_warning(host, port)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    _, url, _ = app.launch(
        server_name=host, server_port=port, share=False, prevent_thread_lock=True, quiet=quiet, show_error=False,
        inbrowser=False, max_file_size=ctx.limits.max_bytes, ssr_mode=False, pwa=False, mcp_server=False,
        run_history=False, footer_links=["api", "settings"], allowed_paths=[str(ctx.workdir)], theme=theme(),
    )
    return url
