"""The swap's parts: aligned training crops with their masks and exact swaps, the swap networks, ArcFace's margin and
the shipped identity encoder, the face finder, and the scores a swap is measured by."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.data.builtin.faceclips import (
    FACE_PREFIX,
    OCCLUDER_PREFIX,
    FaceClips,
    composite,
    emoji_sprites,
    face_layers,
    face_pools,
    random_trajectory,
    to_uint8,
)
from ganforge.data.builtin.moving import make_background
from ganforge.errors import ConfigError, GanforgeError
from ganforge.losses.arcface import ArcFaceHead
from ganforge.metrics.swap import swap_scores
from ganforge.nets.swap import FaceswapAutoencoder, SimSwapGenerator, blend
from ganforge.swap.align import align, crop_view, paste
from ganforge.swap.crops import face_crops, frame_drawing, reference_faces
from ganforge.swap.finder import (
    apply_refinement,
    find_faces,
    haar_faces,
    locate,
    perturbed,
    pose_errors,
    refine_targets,
    train_finder,
)
from ganforge.swap.identity import load_identity_encoder, train_identity_encoder


def test_sharp_crops_draw_the_frame_at_the_crops_resolution() -> None:
    faces = np.array([3, 40])
    drawn = face_crops(faces, seed=2, occluded=0.0, others=faces[::-1], sharp=True)
    alpha = to_uint8(emoji_sprites(FACE_PREFIX).rgba[:, 3:])[..., 0]  # [118, 64, 64]
    # no hand: in its own crop the face is its sprite, so the visible share is the sprite's alpha
    np.testing.assert_allclose(drawn["sharp"][..., 3], alpha[faces], atol=1)
    np.testing.assert_allclose(drawn["sharp_truths"][..., 3], alpha[faces[::-1]], atol=1)
    assert np.abs(drawn["crops"][..., 3].astype(int) - alpha[faces]).mean() > 2  # the aligned crops are blurred
    # a face behind a hand, drawn at the crop's resolution and pasted back, matches its frame far better
    rng = np.random.default_rng(5)
    tr = random_trajectory(rng, 1, 64, occluded=1.0)
    back = make_background("noise", 64, 3, rng)
    face, hands = emoji_sprites(FACE_PREFIX).rgba[7], emoji_sprites(OCCLUDER_PREFIX)
    drawn = frame_drawing(face, hands, tr, back, 64)
    frame, mask = to_uint8(drawn[:, :3]), drawn[:, 3:]
    own = frame_drawing(face, hands, tr, align(back[None], tr.centre, tr.side, tr.angle, 64), 64,
                        crop_view(tr.centre, tr.side, tr.angle, 64), 64)
    sharp = (own[:, :3], own[:, 3:])
    aligned = (align(frame, tr.centre, tr.side, tr.angle, 64), align(mask, tr.centre, tr.side, tr.angle, 64))

    def psnr(crop: tuple[torch.Tensor, torch.Tensor]) -> float:
        out = to_uint8(paste(frame, *crop, tr.centre, tr.side, tr.angle)).astype(float)
        err = (((out - frame) ** 2) * mask[0, 0].numpy()[..., None]).sum() / (3 * mask.sum().item())
        return 10 * np.log10(255**2 / err)

    assert (mask < 0.5).any() and psnr(sharp) > 38 and psnr(sharp) > psnr(aligned) + 5


def test_training_crops_carry_the_visible_face_and_the_exact_swap() -> None:
    faces = np.array([3, 3, 40, 55])
    drawn = face_crops(faces, seed=1, crop=32, occluded=1.0, others=np.array([3, 9, 40, 7]))
    crops, truths = drawn["crops"], drawn["truths"]
    assert crops.shape == truths.shape == (4, 32, 32, 4) and crops.dtype == np.uint8
    np.testing.assert_array_equal(crops[0], truths[0])  # the same face drawn twice: identical
    np.testing.assert_array_equal(crops[2], truths[2])
    assert not np.array_equal(crops[1, ..., :3], truths[1, ..., :3])
    # a hand in front of every face: parts of each face are hidden, so no mask is all face
    assert (crops[..., 3] < 250).any(axis=(1, 2)).all() and crops[..., 3].max() == 255
    np.testing.assert_array_equal(face_crops(faces, seed=1, crop=32)["crops"][0].shape, (32, 32, 4))
    refs = reference_faces(crop=32)
    assert refs.shape == (118, 32, 32, 3) and refs.dtype == np.uint8


def test_swap_networks_draw_a_face_and_a_mask_and_refuse_bad_input() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    ae = FaceswapAutoencoder(identities=2, width=4, code=8, crop=32)
    out = ae(x, 1)
    assert out.shape == (2, 4, 32, 32) and out[:, :3].abs().max() <= 1 and 0 <= out[:, 3].min() <= out[:, 3].max() <= 1
    assert not torch.allclose(ae(x, 0), out)  # one decoder per face
    mixed = blend(x, torch.cat([torch.ones_like(x), torch.zeros_like(x[:, :1])], 1))
    torch.testing.assert_close(mixed, x)  # mask 0 keeps the input
    with pytest.raises(ConfigError, match="outside"):
        ae(x, 2)
    with pytest.raises(ConfigError, match="32-px crops"):
        ae(torch.zeros(1, 3, 64, 64), 0)
    sim = SimSwapGenerator(embed_dim=128, width=4, blocks=1)
    e = torch.nn.functional.normalize(torch.randn(2, 128), dim=1)
    assert sim(x, e).shape == (2, 4, 32, 32) and not torch.allclose(sim(x, e), sim(x, e.flip(0)))
    assert all(not p.requires_grad for p in sim.identity.parameters())
    assert not any(p is q for p in sim.trainable() for q in sim.identity.parameters())
    with pytest.raises(ConfigError, match="embeddings"):
        sim(x, torch.zeros(2, 7))
    with pytest.raises(ValueError, match="multiples of 8"):
        sim(torch.zeros(1, 3, 30, 30), e[:1])


def test_arcface_margin_separates_classes_and_the_shipped_encoder_knows_unseen_faces() -> None:
    torch.manual_seed(0)
    head = ArcFaceHead(8, 3)
    e = torch.randn(30, 8)
    labels = torch.arange(30) % 3
    # the margin makes the true class harder: the loss exceeds plain softmax cross-entropy on the same logits
    plain = torch.nn.functional.cross_entropy(head.cosines(e) * head.scale, labels)
    assert head(e, labels).item() > plain.item()
    opposite = -head.centres.detach()[labels]  # theta near pi: ArcFace's fallback keeps the loss finite and largest
    assert torch.isfinite(head(opposite, labels)) and head(opposite, labels).item() > head(e, labels).item()
    crops = torch.from_numpy(face_crops(np.repeat([1, 2, 3], 20), seed=0, crop=32)["crops"][..., :3]).permute(0, 3, 1, 2)
    net = train_identity_encoder(crops.float() / 255, torch.arange(60) // 20, classes=3, epochs=30)
    emb = net(crops.float() / 127.5 - 1)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(60))
    same, other = (emb[:20] @ emb[:20].t()).mean(), (emb[:20] @ emb[20:40].t()).mean()
    assert same > other + 0.2
    shipped = load_identity_encoder()
    refs = torch.from_numpy(reference_faces()).permute(0, 3, 1, 2).float() / 127.5 - 1
    unseen = np.asarray(face_pools()["test"])  # faces it never trained on
    drawn = torch.from_numpy(face_crops(np.tile(unseen, 3), seed=5)["crops"][..., :3]).permute(0, 3, 1, 2)
    with torch.no_grad():
        nearest = (shipped(drawn.float() / 127.5 - 1) @ shipped(refs).t()).argmax(1).numpy()
    assert (nearest == np.tile(unseen, 3)).mean() >= 0.7


def test_the_finder_refines_poses_and_the_shipped_one_finds_faces() -> None:
    rng = np.random.default_rng(0)
    truth = {"centre": rng.uniform(20, 44, (6, 2)), "side": rng.uniform(20, 34, 6), "angle": rng.uniform(-20, 20, 6)}
    guess = perturbed(truth, rng)
    back = apply_refinement(guess, refine_targets(guess, truth))
    for key in truth:
        np.testing.assert_allclose(back[key], truth[key], atol=1e-4)
    clips = FaceClips("test", num_clips=4, frames=8)
    frames = np.concatenate([clips[i] for i in range(4)])
    poses = [clips.layout(i)["trajectory"] for i in range(4)]
    true = {"centre": np.concatenate([t.centre for t in poses]), "side": np.concatenate([t.side for t in poses]),
            "angle": np.concatenate([t.angle for t in poses])}
    errors = pose_errors(find_faces(frames), true)
    assert np.median(errors["position_px"]) < 2.5 and np.median(errors["scale"]) < 0.08
    assert np.median(errors["rotation_deg"]) < 6
    tiny = train_finder(frames[:16], {k: v[:16] for k, v in true.items()}, epochs=1)
    assert set(locate(tiny, frames[:2], steps=1)) == {"centre", "side", "angle"}
    with pytest.raises(GanforgeError, match="unknown face finder"):
        find_faces(frames, "dlib")


def test_haar_poses_take_the_largest_face_and_fill_frames_without_one() -> None:
    class Detector:  # OpenCV's cascade, as it answers: (x, y, w, h) boxes per frame
        def __init__(self) -> None:
            self.answers = iter([[], [(10, 20, 30, 30), (0, 0, 8, 8)], [], [(12, 22, 40, 36)]])

        def detectMultiScale(self, grey, **kwargs):  # noqa: N802  (OpenCV's name)
            assert grey.ndim == 2
            return next(self.answers)

    poses = haar_faces(np.zeros((4, 64, 64, 3), np.uint8), Detector())
    np.testing.assert_allclose(poses["centre"], [[34.5, 24.5], [34.5, 24.5], [34.5, 24.5], [39.5, 31.5]])
    np.testing.assert_allclose(poses["side"], [30, 30, 30, 40])
    assert not poses["angle"].any()
    with pytest.raises(GanforgeError, match="found no face"):
        find_faces(np.full((2, 64, 64, 3), 128, np.uint8), "haar")  # OpenCV's own cascade: nothing face-like


def test_scores_are_perfect_for_the_truth_and_see_a_moved_face() -> None:
    clips = FaceClips("test", num_clips=2, frames=6)
    tr = clips.layout(0)["trajectory"]
    b = (clips.layout(0)["identity"] + 1) % 118
    pose = {"centre": tr.centre, "side": tr.side, "angle": tr.angle}
    face, hand, background = clips.layers(0, b)
    truth, mask = clips.render_as(0, b), clips.face_mask(0, b)
    args = (clips.faces.rgba[b], background, hand)
    perfect = swap_scores(truth, truth, mask, pose, b, *args)
    assert perfect["position_px"] < 0.05 and perfect["rotation_deg"] < 0.1 and perfect["psnr_face"] > 60
    assert perfect["flicker_ratio"] == pytest.approx(1.0)
    moved = type(tr)(tr.centre + [2.0, 0.0], tr.side, tr.angle + 3, tr.occluder, tr.occluder_centre, tr.occluder_side)
    output = to_uint8(composite(face_layers(clips.faces.rgba[b], clips.hands, moved, 64), background))
    off = swap_scores(output, truth, mask, pose, b, *args)
    assert off["position_px"] == pytest.approx(2.0, abs=0.2) and off["rotation_deg"] == pytest.approx(3.0, abs=0.5)
    assert off["psnr_face"] < 25
