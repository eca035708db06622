"""`ganforge provenance check`: marked files say so with their payload and metadata; others do not; bad input errs."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from ganforge.cli.main import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_sampled_grid_is_marked_and_its_metadata_agrees(capsys, tmp_path):
    out = tmp_path / "grid.png"
    code, _, err = run(capsys, "sample", "zoo:mnist-32", "--n", "16", "--seed", "1", "--out", str(out))
    assert code == 0, err
    code, text, err = run(capsys, "provenance", "check", str(out), "--json", "--no-detector")
    assert code == 0, err
    report = json.loads(text)
    assert report["marked"] and report["mark"]["bit_matches"] >= 45
    assert report["metadata"]["watermark"] == "on" and report["mark_agrees_with_metadata"] is True
    code, line, _ = run(capsys, "provenance", "check", str(out), "--no-detector")
    assert line.startswith(f"{out}: marked (") and "agrees" in line


def test_no_watermark_is_unmarked_and_says_so(capsys, tmp_path):
    out = tmp_path / "plain.png"
    assert run(capsys, "sample", "zoo:mnist-32", "--n", "16", "--out", str(out), "--no-watermark")[0] == 0
    code, text, _ = run(capsys, "provenance", "check", str(out), "--json", "--no-detector")
    report = json.loads(text)
    assert code == 0 and not report["marked"] and report["metadata"]["watermark"] == "off"


def test_a_foreign_image_has_neither_mark_nor_metadata(capsys, tmp_path):
    path = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(path)
    code, line, _ = run(capsys, "provenance", "check", str(path), "--no-detector")
    assert code == 0 and "no ganforge mark" in line and "no ganforge metadata" in line


def test_missing_and_unreadable_files_are_one_line_errors(capsys, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    code, _, err = run(capsys, "provenance", "check", str(tmp_path / "none.png"), str(bad), "--no-detector")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "no such file" in lines[0] and "cannot read" in lines[1]


def test_a_long_video_is_checked_on_evenly_spaced_frames_held_a_few_at_a_time(tmp_path):
    from ganforge.cli.provenance import MAX_FRAMES, evenly_spaced, read_frames

    seen = []

    def stream(n: int):
        for i in range(n):
            seen.append(i)
            yield np.array([i % 256, i // 256, 0], np.uint8).reshape(1, 1, 3)  # the index in two bytes

    for n in (1, MAX_FRAMES, MAX_FRAMES + 1, 1000):
        kept = evenly_spaced(stream(n))
        values = [int(f[0, 0, 0]) + 256 * int(f[0, 0, 1]) for f in kept]
        assert min(n, MAX_FRAMES // 2) <= len(kept) <= MAX_FRAMES and values[0] == 0
        assert len(set(np.diff(values))) <= 1  # one spacing throughout
    assert len(seen) == 1 + MAX_FRAMES + MAX_FRAMES + 1 + 1000  # every frame streamed once, none kept beyond
    frames = [Image.fromarray(np.full((8, 8, 3), 4 * i, np.uint8)) for i in range(40)]
    frames[0].save(tmp_path / "long.gif", save_all=True, append_images=frames[1:], duration=50)
    got = read_frames(tmp_path / "long.gif")
    assert MAX_FRAMES // 2 <= len(got) <= MAX_FRAMES and got[0].shape == (8, 8, 3)
