"""Kill a training process in the middle of writing a checkpoint: the crash-safety tests' one way of doing it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from tests.conftest import TEST_THREADS

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OMP_NUM_THREADS": str(TEST_THREADS)}


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until `path` exists; an error if the process ends first or the time runs out (the process is then killed)."""
    end = time.time() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"process ended early: {proc.communicate()}")
        if time.time() > end:
            proc.kill()
            raise AssertionError(f"timed out waiting for {path}")
        time.sleep(0.05)


def kill_during_save(tmp_path: Path, settings: dict[str, Any], kimg: float, name: str, inside: str,
                     timeout: float = 120) -> None:
    """Train `name` under tmp_path in a child process and SIGKILL it once it has fsynced a file of the checkpoint
    temp folder whose path contains `inside` (e.g. ".tmp-kimg-00003": within the third save)."""
    marker = tmp_path / f".saving-{name}"
    script = tmp_path / f"killme-{name}.py"
    script.write_text(textwrap.dedent(f"""
        import time
        import ganforge.engine.checkpoint as ck
        original = ck.fsync_file
        def slow(path):
            original(path)
            if {inside!r} in str(path):
                open({str(marker)!r}, "w").write("saving")
                time.sleep(600)
        ck.fsync_file = slow
        import ganforge
        ganforge.train(**{settings!r}, kimg={kimg!r}, out={str(tmp_path)!r}, name={name!r})
    """))
    proc = subprocess.Popen([sys.executable, str(script)], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(marker, proc, timeout)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
