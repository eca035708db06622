"""`ganforge studio`: the tasks in a local web page (Gradio, the optional `studio` extra).

Nothing here imports Gradio until the studio starts, so the rest of ganforge works without the extra.
"""

from __future__ import annotations

import os
from types import ModuleType

from ganforge.errors import GanforgeError

INSTALL_HINT = "the studio needs the studio extra: pip install 'ganforge[studio]' (make setup installs it)"


def require_gradio() -> ModuleType:
    """Gradio, imported with its telemetry off (before the import: some of it reads the environment then), or a
    one-line error that says how to install it."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # version check and usage reports
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is ever fetched from a hub
    try:
        import gradio
    except ImportError:
        raise GanforgeError(INSTALL_HINT) from None
    return gradio
