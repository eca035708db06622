"""Process-level guarantees: SIGKILL during a save, SIGTERM, and two processes in lock-step."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import torch
from safetensors.torch import load_file
from tests.conftest import TINY
from tests.kill_helpers import ENV, kill_during_save, wait_for

import ganforge
from ganforge.engine.checkpoint import list_checkpoints


def test_sigkill_during_save_leaves_previous_checkpoints_and_resume_is_exact(tmp_path):
    kill_during_save(tmp_path, TINY, 4, "killed", inside=".tmp-kimg-00003")  # inside the third checkpoint's save
    ckpt_root = tmp_path / "killed" / "checkpoints"
    assert [p.name for p in list_checkpoints(ckpt_root)] == ["kimg-00001.024", "kimg-00002.016"]
    assert list(ckpt_root.glob(".tmp-kimg-00003.008-*")), "the interrupted save stays in its temp folder"

    resumed = ganforge.train(resume=tmp_path / "killed", kimg=4)
    full = ganforge.train(**TINY, kimg=4, out=str(tmp_path), name="full")
    a, b = load_file(str(full.checkpoint / "G.safetensors")), load_file(str(resumed.checkpoint / "G.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_sigterm_checkpoints_and_exits_130(tmp_path):
    args = [sys.executable, "-m", "ganforge.cli.main", "train", "image", "--data", "digits", "--resolution", "16",
            "--batch", "32", "--width", "8", "--z-dim", "16", "--kimg", "10000", "--tick", "0.2",
            "--out", str(tmp_path), "--name", "term"]
    proc = subprocess.Popen(args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(tmp_path / "term" / "metrics.jsonl", proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err
    ckpts = list_checkpoints(tmp_path / "term" / "checkpoints")
    assert len(ckpts) == 1
    state = json.loads((ckpts[0] / "state.json").read_text())
    assert 0 < state["kimg"] < 10000


def test_two_processes_stay_identical_and_only_rank0_writes(tmp_path):
    script = tmp_path / "ddp.py"
    run_dir = tmp_path / "ddp"
    script.write_text(textwrap.dedent(f"""
        import builtins, hashlib, json, os
        rank = int(os.environ["RANK"])
        writes = []
        if rank != 0:
            real_open = builtins.open
            def spy(file, mode="r", *a, **k):
                if any(c in mode for c in "wax+") and str(file).startswith({str(run_dir)!r}):
                    writes.append(str(file))
                return real_open(file, mode, *a, **k)
            builtins.open = spy
            import ganforge.engine.checkpoint as ck
            def no_save(*a, **k):
                writes.append("save_checkpoint")
            ck.save_file = no_save
        import ganforge
        result = ganforge.train(**{TINY!r}, kimg=0.5, cond=True, out={str(tmp_path)!r}, name="ddp")
        task_nets = result.task.networks
        digest = {{name: hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in net.parameters())).hexdigest()
                  for name, net in task_nets.items()}}
        digest["buffers"] = hashlib.sha256(b"".join(b.numpy().tobytes() for net in task_nets.values()
                                                     for b in net.buffers())).hexdigest()
        with builtins.open({str(tmp_path)!r} + f"/rank{{rank}}.json", "w") as fh:
            json.dump({{"digest": digest, "writes": writes, "steps": result.steps}}, fh)
    """))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script)]
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    assert r0["digest"] == r1["digest"]
    assert r1["writes"] == [] and r0["steps"] == r1["steps"] == 16  # 512 images / global batch 32
    assert list_checkpoints(run_dir / "checkpoints")
