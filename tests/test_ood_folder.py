"""The published OOD sets read from their directory layout, the conditions the published summary
counts, and the configured directory winning over the generated sets."""

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms

from convergent.data import (
    CATEGORIES,
    build_stimset,
    counts_in_summary,
    cue_conflict_texture,
    ood_folder,
    read_ood_folder,
)
from convergent.errors import InputError

DIGITS = {"name": "digits", "image_size": 16, "test_fraction": 0.3, "seed": 0}
STIMULI = {"max_images": 50, "ood_images": 5, "seed": 0}


def write_png(path, seed, size=(20, 14)):
    """A small random RGB picture, ``size`` = (width, height)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


SESSION_FILES = {  # the published session-1 naming, orig names with their own underscores
    "contrast": ["0001_cop_dnn_c100_airplane_10_n02691156_10151.png",
                 "0002_cop_dnn_c05_knife_3_n03041632_1234.png",
                 "0003_cop_dnn_c05_truck_7_n03417042_999.png"],
    "eidolonII": ["0001_eid_dnn_8-3-10_dog_1_n02085620_1.png",
                  "0002_eid_dnn_128-3-10_bear_2_n02132136_2.png"],
    "sketch": ["0001_sk_dnn_0_cat_3_n02123045_1.png", "0002_sk_dnn_0_oven_1_n04111531_7.png"],
}
FOLDER_FILES = {
    "edge": ["cat/cat1.png", "cat/cat2.png", "bottle/bottle1.png"],
    "silhouette": ["elephant/elephant4.png"],
    "cue-conflict": ["cat/cat3-elephant1.png", "cat/cat1-cat2.png", "bear/bear2-knife10.png"],
}


@pytest.fixture
def published(tmp_path):
    """A tiny copy of the published layout: three sets of each kind."""
    seed = 0
    for name, files in SESSION_FILES.items():
        for file in files:
            write_png(tmp_path / name / "dnn" / "session-1" / file, seed := seed + 1)
    for name, files in FOLDER_FILES.items():
        for file in files:
            write_png(tmp_path / name / file, seed := seed + 1)
    (tmp_path / "edge" / ".DS_Store").write_text("not an image")
    return tmp_path


def test_session_layout_parses_condition_and_category(published):
    contrast = read_ood_folder(published, "contrast", 8)
    assert contrast.images.shape == (3, 3, 8, 8) and contrast.images.dtype == torch.float32
    assert contrast.classes == CATEGORIES and len(CATEGORIES) == 16
    assert [contrast.classes[k] for k in contrast.labels] == ["airplane", "knife", "truck"]
    assert contrast.ids == [f"contrast/{c}/{f}" for c, f in
                            zip(["c100", "c05", "c05"], SESSION_FILES["contrast"], strict=True)]
    eidolon = read_ood_folder(published, "eidolonII", 8)
    assert [i.split("/")[1] for i in eidolon.ids] == ["8-3-10", "128-3-10"]
    assert [eidolon.classes[k] for k in eidolon.labels] == ["dog", "bear"]
    sketch = read_ood_folder(published, "sketch", 8)
    assert [sketch.classes[k] for k in sketch.labels] == ["cat", "oven"]


def test_images_are_resized_and_centre_cropped_like_torchvision(published):
    size = 10
    reference = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size),
                                    transforms.ToTensor()])
    contrast = read_ood_folder(published, "contrast", size)
    path = published / "contrast" / "dnn" / "session-1" / SESSION_FILES["contrast"][1]
    expected = reference(Image.open(path).convert("RGB"))
    assert torch.equal(contrast.images[1], expected)
    assert float(contrast.images.min()) >= 0 and float(contrast.images.max()) <= 1


def test_folder_layout_has_one_condition_and_the_folder_category(published):
    edge = read_ood_folder(published, "edge", 8)
    assert edge.ids == ["edge/canny/bottle1.png", "edge/canny/cat1.png", "edge/canny/cat2.png"]
    assert [edge.classes[k] for k in edge.labels] == ["bottle", "cat", "cat"]
    silhouette = read_ood_folder(published, "silhouette", 8)
    assert silhouette.ids == ["silhouette/filled/elephant4.png"]
    assert silhouette.labels.tolist() == [CATEGORIES.index("elephant")]


def test_cue_conflict_labels_the_shape_and_names_the_texture(published):
    cues = read_ood_folder(published, "cue-conflict", 8)
    assert [cues.classes[k] for k in cues.labels] == ["bear", "cat", "cat"]  # the folders
    assert [cue_conflict_texture(i) for i in cues.ids] == ["knife", "cat", "elephant"]
    assert cues.ids[2] == "cue-conflict/shape-texture/cat3-elephant1.png"


@pytest.mark.parametrize("setup,name,message", [
    (lambda root: None, "edge", r"edge: no such directory"),
    (lambda root: (root / "contrast").mkdir(), "contrast", r"session-1: no such directory"),
    (lambda root: (root / "contrast" / "dnn" / "session-1").mkdir(parents=True), "contrast",
     "holds no images"),
    (lambda root: (root / "edge" / "cat").mkdir(parents=True), "edge", "holds no images"),
    (lambda root: write_png(root / "rotation" / "dnn" / "session-1" / "0001_rot_90.png", 0),
     "rotation", "0001_rot_90.png: file name does not parse"),
    (lambda root: write_png(root / "rotation" / "dnn" / "session-1" /
                            "0001_rot_dnn_90_zebra_1_n1_2.png", 0),
     "rotation", "unknown category 'zebra'"),
    (lambda root: write_png(root / "edge" / "zebra" / "zebra1.png", 0), "edge",
     "unknown category 'zebra'"),
    (lambda root: write_png(root / "cue-conflict" / "cat" / "cat3.png", 0), "cue-conflict",
     "cat3.png: not a cue-conflict file name"),
    (lambda root: write_png(root / "cue-conflict" / "cat" / "cat3-zebra1.png", 0),
     "cue-conflict", "unknown category 'zebra'"),
    (lambda root: (write_png(root / "edge" / "cat" / "x1.png", 0),
                   write_png(root / "edge" / "dog" / "x1.png", 1)), "edge",
     "two images share the stimulus id 'edge/canny/x1.png'"),
    (lambda root: None, "fog", "unknown OOD set 'fog'"),
])
def test_bad_published_sets_are_one_clear_error(tmp_path, setup, name, message):
    setup(tmp_path)
    with pytest.raises(InputError, match=message):
        read_ood_folder(tmp_path, name, 8)


def test_an_unreadable_image_is_named(tmp_path):
    bad = tmp_path / "edge" / "cat" / "cat1.png"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a png")
    with pytest.raises(InputError, match="cat1.png: not a readable image"):
        read_ood_folder(tmp_path, "edge", 8)


def test_a_configured_directory_wins_over_the_generated_sets(published):
    stimuli = {**STIMULI, "ood_root": str(published)}
    real = build_stimset(DIGITS, stimuli, "contrast")
    assert real.classes == CATEGORIES and len(real) == 3
    assert real.images.shape[-1] == DIGITS["image_size"]
    generated = build_stimset(DIGITS, STIMULI, "contrast")  # no ood_root key: generated
    assert generated.classes == [str(c) for c in range(10)] and len(generated) == 5 * 8
    assert build_stimset(DIGITS, stimuli, "test").classes == generated.classes
    with pytest.raises(InputError, match="stimuli.ood_root: .*rotation: no such directory"):
        build_stimset(DIGITS, stimuli, "rotation")  # configured but absent: no silent fallback
    with pytest.raises(InputError, match="stimuli.ood_root: .* is not a directory"):
        build_stimset(DIGITS, {**STIMULI, "ood_root": str(published / "nope")}, "edge")
    with pytest.raises(InputError, match="stimuli.ood_root: expected a directory path"):
        build_stimset(DIGITS, {**STIMULI, "ood_root": 3}, "edge")


# --- conditions of the published summary -----------------------------------------------------

@pytest.mark.parametrize("name,condition,level", [
    ("colour", "cr", "colour"), ("colour", "bw", "grey"), ("contrast", "c05", "0.05"),
    ("contrast", "c100", "1.0"), ("high-pass", "3.0", "3"), ("high-pass", "inf", "inf"),
    ("power-equalisation", "pow", "equalised"), ("false-colour", "True", "original"),
    ("eidolonII", "8-3-10", "8"), ("eidolonIII", "128-0-10", "128"),
    ("uniform-noise", "0.35", "0.35"), ("rotation", "90", "90"), ("contrast", "0.3", "0.3"),
])
def test_published_and_generated_condition_labels_meet(name, condition, level):
    assert ood_folder.condition_level(name, condition) == level


def test_summary_leaves_out_the_conditions_of_the_spec():
    excluded = {name: [c for c in conditions if not counts_in_summary(name, c)]
                for name, conditions in ood_folder.PUBLISHED_CONDITIONS.items()}
    assert excluded["colour"] == ["cr"]
    assert excluded["contrast"] == ["c100", "c03", "c01"]
    assert excluded["power-equalisation"] == ["0"] and excluded["false-colour"] == ["True"]
    assert excluded["eidolonI"] == ["1-10-10", "64-10-10", "128-10-10"]
    assert excluded["eidolonII"] == ["1-3-10", "32-3-10", "64-3-10", "128-3-10"]
    assert excluded["eidolonIII"] == ["1-0-10", "16-0-10", "32-0-10", "64-0-10", "128-0-10"]
    generated = {  # the same sets in the generated sets' labels
        "high-pass": (["inf", "0.55", "0.45", "0.4"], ["3", "1.5", "1", "0.7"]),
        "low-pass": (["0", "15", "40"], ["1", "3", "5", "7", "10"]),
        "phase-scrambling": (["0", "150", "180"], ["30", "60", "90", "120"]),
        "rotation": (["0"], ["90", "180", "270"]),
        "uniform-noise": (["0.0", "0.6", "0.9"], ["0.03", "0.05", "0.1", "0.2", "0.35"]),
        "contrast": (["1.0", "0.03", "0.01"], ["0.5", "0.3", "0.15", "0.1", "0.05"]),
        "colour": (["colour"], ["grey"]),
    }
    for name, (left_out, counted) in generated.items():
        assert not any(counts_in_summary(name, c) for c in left_out), name
        assert all(counts_in_summary(name, c) for c in counted), name
    for name in ("edge", "silhouette", "cue-conflict", "sketch", "stylized"):
        assert counts_in_summary(name, "anything")


def test_unknown_conditions_are_one_clear_error():
    with pytest.raises(InputError, match="contrast: unknown condition 'c07'"):
        counts_in_summary("contrast", "c07")
    with pytest.raises(InputError, match="unknown OOD set 'fog'"):
        counts_in_summary("fog", "1")
