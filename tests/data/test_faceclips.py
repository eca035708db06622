"""Face clips for identity swap (issue 32): exact re-rendering of any face along any clip's trajectory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from gf_data_helpers import make_many_emoji_tarballs

from ganforge.data.builtin import get_builtin, npm
from ganforge.data.builtin.faceclips import FaceClips, draw_faces, emoji_sprites, place
from ganforge.errors import DataError


@pytest.fixture
def faces_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An emoji set of 24: faces (two subcategories), hands and others; the first three with skin tones."""
    tgzs = make_many_emoji_tarballs(tmp_path / "tarballs", bases=24, toned=3,
                                    subcategories=("face-smiling", "face-concerned", "hand-fingers-open", "test"))
    for vendor, path in tgzs.items():
        monkeypatch.setitem(npm.PINNED_SHA256, f"emoji-datasource-{vendor}@16.0.0", npm.sha256_file(path))
    get_builtin("emoji").fetch(from_path=tmp_path / "tarballs")
    emoji_sprites.cache_clear()
    yield
    emoji_sprites.cache_clear()


def test_faces_are_the_face_emoji_in_one_order_in_both_styles(faces_cached) -> None:
    google, twitter = emoji_sprites("face-", "google"), emoji_sprites("face-", "twitter")
    assert google.names == twitter.names and len(google.names) == 12  # skin-tone variants left out
    assert google.rgba.shape == (12, 4, 64, 64) and float(google.rgba.max()) <= 1.0
    assert not torch.equal(google.rgba, twitter.rgba)
    assert len(emoji_sprites("hand-", "google").names) == 6
    with pytest.raises(DataError, match="unknown emoji style"):
        emoji_sprites("face-", "apple")


def test_clips_are_seeded_and_a_swap_changes_only_the_face(faces_cached) -> None:
    clips = FaceClips("train", num_clips=6, frames=5, size=32, occluded=1.0)
    again = FaceClips("train", num_clips=6, frames=5, size=32, occluded=1.0)
    clip = clips[2]
    assert clip.shape == (5, 32, 32, 3) and clip.dtype == np.uint8
    np.testing.assert_array_equal(clip, again[2])
    own = clips.layout(2)["identity"]
    np.testing.assert_array_equal(clips.render_as(2, own), clip)
    other = next(int(i) for i in clips.identities if i != own)
    swapped = clips.render_as(2, other)
    mask = clips.face_mask(2)
    assert mask.shape == (5, 32, 32) and 0.0 <= mask.min() and mask.max() <= 1.0
    differs = np.any(swapped != clip, axis=3)
    assert differs.any() and not differs[mask == 0].any()  # these faces share one shape: only the face changes
    hand = clips.layers(2, own)[1]
    assert hand is not None  # occluded=1: a hand crosses every clip, and covers the face where it is opaque
    assert np.all(mask[hand[:, 3].numpy() > 0.999] < 1e-3)
    with pytest.raises(DataError, match="outside"):
        clips.render_as(2, 99)
    with pytest.raises(IndexError):
        clips.layout(6)


def test_test_clips_show_only_held_out_faces(faces_cached) -> None:
    train, test = FaceClips("train", num_clips=20, frames=2, size=32), FaceClips("test", num_clips=20, frames=2, size=32)
    assert not set(train.identities) & set(test.identities)
    assert {test.layout(i)["identity"] for i in range(20)} <= set(test.identities)
    with pytest.raises(DataError, match="unknown split"):
        FaceClips("val")


def test_a_placed_sprite_lands_where_and_as_large_as_asked() -> None:
    square = torch.ones(4, 32, 32)  # an opaque square sprite
    centre, side = np.array([[20.0, 30.0]] * 3), np.full(3, 16.0)
    layers = place(square, centre, side, np.array([0.0, 90.0, 45.0]), 64)[:, 3].numpy()  # [3, 64, 64] alpha
    ys, xs = np.mgrid[0:64, 0:64]
    for alpha in layers:
        assert alpha.sum() == pytest.approx(256.0, rel=0.03)  # 16 x 16 px at any angle (edges bilinear)
        assert (alpha * ys).sum() / alpha.sum() == pytest.approx(20.0, abs=0.05)
        assert (alpha * xs).sum() / alpha.sum() == pytest.approx(30.0, abs=0.05)
    wide = np.nonzero(layers[2].max(axis=0) > 0.5)[0]
    assert wide.max() - wide.min() + 1 >= 21  # turned by 45 degrees: about 16 * sqrt(2) across


def test_drawn_faces_align_back_to_their_sprites(faces_cached) -> None:
    from ganforge.swap.align import align

    identities = np.array([0, 3, 3, 7])
    drawn = draw_faces(identities, seed=0, size=64, occluded=0.0)
    assert drawn["frames"].shape == (4, 64, 64, 3) and drawn["side"].shape == (4,)
    np.testing.assert_array_equal(draw_faces(identities, seed=0, size=64, occluded=0.0)["frames"], drawn["frames"])
    crops = align(drawn["frames"], drawn["centre"], drawn["side"], drawn["angle"], 32)
    faces = emoji_sprites("face-", "google").rgba
    small = torch.nn.functional.interpolate(faces[identities], size=32, mode="bilinear", antialias=True)
    inner = small[:, 3:] > 0.99  # the test sprites are opaque squares: compare inside them
    error = (crops - small[:, :3]).abs()[inner.expand(-1, 3, -1, -1)].mean()
    assert float(error) < 0.03
