"""Architectures, the per-family layer rules, activations and model sources."""

import pytest
import torch
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from torch import nn
from torchvision.models import VisionTransformer

from convergent.errors import InputError
from convergent.models import (
    ARCHITECTURES,
    build_model,
    check_image_size,
    conv_layer_names,
    extract_activations,
    layer_names,
    layer_spec,
    load_vision_model,
)
from convergent.models.sources import TORCHVISION_NAMES, weights_cache_path

pytestmark = pytest.mark.usefixtures("one_thread")


CONV_LAYERS = {"resnet18": 17, "resnet50": 49, "vgg11": 8, "vgg16": 13, "vgg19": 16}
VIT_LAYERS = {"vit_small": 4, "vit_b16": 12}


def small(arch, seed=None):
    """The cheap variant of ``arch``: narrow VGGs, and everything for small images."""
    return build_model(arch, 10, width=0.25 if arch.startswith("vgg") else 1.0,
                       small_input=True, seed=seed)


def test_every_architecture_has_a_documented_layer_count():
    assert set(ARCHITECTURES) == set(CONV_LAYERS) | set(VIT_LAYERS)


@pytest.mark.parametrize("arch,n_layers", CONV_LAYERS.items())
def test_every_convolution_but_a_shortcut_is_a_layer_in_network_order(arch, n_layers):
    model = small(arch)
    names = conv_layer_names(model)
    assert len(names) == n_layers and layer_spec(model).family == "conv"
    assert layer_names(model) == names
    assert names == [n for n, m in model.named_modules()
                     if isinstance(m, nn.Conv2d) and "downsample" not in n]


def test_resnet_shortcuts_are_not_layers():
    names = layer_names(build_model("resnet18", 10))
    assert names[:4] == ["conv1", "layer1.0.conv1", "layer1.0.conv2", "layer1.1.conv1"]
    assert names[-1] == "layer4.1.conv2" and not [n for n in names if "downsample" in n]


def test_a_point_is_a_measuring_point():
    with pytest.raises(InputError, match="unknown measuring point 'bn'"):
        extract_activations(small("resnet18"), [torch.rand(1, 3, 32, 32)], point="bn")


def _resnet_manual(model, images, point):
    """Every compared layer of a torchvision ResNet by hand, block by block (centre pixel)."""
    relu = torch.relu
    measured = {}

    def keep(name, output):
        measured[name] = output[:, :, output.shape[2] // 2, output.shape[3] // 2]

    with torch.no_grad():
        x = model.conv1(images)
        keep("conv1", x if point == "conv" else relu(model.bn1(x)))
        x = model.maxpool(relu(model.bn1(x)))
        for stage in ("layer1", "layer2", "layer3", "layer4"):
            for index, block in enumerate(getattr(model, stage)):
                convs = [n for n, m in block.named_children() if isinstance(m, nn.Conv2d)]
                out = x
                for number, conv in enumerate(convs, start=1):
                    raw = getattr(block, conv)(out)
                    out = getattr(block, f"bn{number}")(raw)
                    if conv != convs[-1]:
                        out = relu(out)
                    keep(f"{stage}.{index}.{conv}", raw if point == "conv" else out)
                shortcut = x if block.downsample is None else block.downsample(x)
                x = relu(out + shortcut)
                if point == "activation":  # the last convolution: after the sum and its ReLU
                    keep(f"{stage}.{index}.{convs[-1]}", x)
    return measured


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
@pytest.mark.parametrize("point", ["activation", "conv"])
def test_resnet_layers_match_a_manual_forward(arch, point):
    """The shared ReLU of a torchvision block is never hooked: every layer equals a forward
    written out by hand, after the nonlinearity (and after the residual sum for a block's last
    convolution) or at the raw convolution."""
    model = build_model(arch, 10, seed=0).eval()
    images = torch.rand(3, 3, 64, 64)
    layers, _ = extract_activations(model, [images[:2], images[2:]], point=point)
    expected = _resnet_manual(model, images, point)
    assert list(layers) == list(expected) == layer_names(model)
    for name, values in expected.items():
        assert torch.allclose(layers[name], values, rtol=1e-4, atol=1e-4), name
    if point == "activation":
        assert all((values >= 0).all() for values in layers.values())


@pytest.mark.parametrize("point", ["activation", "conv"])
def test_vgg_layers_match_a_manual_forward(point):
    model = build_model("vgg16", 10, width=0.25, small_input=True, seed=0).eval()
    images = torch.rand(3, 3, 32, 32)
    layers, _ = extract_activations(model, [images], point=point)
    expected, x = [], images
    with torch.no_grad():
        for module in model.features:
            x = module(x.clone())  # clone: the ReLUs work in place
            if isinstance(module, nn.Conv2d if point == "conv" else nn.ReLU):
                expected.append(x[:, :, x.shape[2] // 2, x.shape[3] // 2])
    assert len(expected) == len(layers) == 13
    for values, (name, measured) in zip(expected, layers.items(), strict=True):
        assert torch.allclose(measured, values, rtol=1e-4, atol=1e-4), name


@pytest.mark.parametrize("arch,n_layers", VIT_LAYERS.items())
def test_a_vit_layer_is_each_encoder_block_in_order(arch, n_layers):
    model = build_model(arch, 10)
    assert isinstance(model, VisionTransformer) and layer_spec(model).family == "vit"
    # the patch embedding is a convolution, yet the ViT rule wins
    assert any(isinstance(m, nn.Conv2d) for m in model.modules())
    assert layer_names(model) == [f"encoder.layers.encoder_layer_{i}" for i in range(n_layers)]


def test_centre_pixel_activations_match_a_manual_forward():
    model = build_model("vgg11", 10, width=0.25, small_input=True, seed=0).eval()
    images = torch.rand(5, 3, 32, 32)
    layers, logits = extract_activations(model, [images[:3], images[3:]])
    with torch.no_grad():  # the first convolution after its batch norm and ReLU
        first = torch.relu(model.features[1](model.features[0](images)))
    assert torch.allclose(layers["features.0"], first[:, :, 16, 16], atol=1e-6)
    assert logits.shape == (5, 10)
    assert [v.shape[0] for v in layers.values()] == [5] * 8


def test_cls_token_activations_match_a_manual_forward_through_the_blocks():
    model = build_model("vit_small", 10, seed=0).eval()
    images = torch.rand(3, 3, 32, 32)
    layers, logits = extract_activations(model, [images[:2], images[2:]])
    with torch.no_grad():
        tokens = model._process_input(images)
        tokens = torch.cat([model.class_token.expand(3, -1, -1), tokens], dim=1)
        tokens = tokens + model.encoder.pos_embedding
        expected = []
        for block in model.encoder.layers:
            tokens = block(tokens)
            expected.append(tokens[:, 0])
    assert list(layers) == layer_names(model)
    for name, cls in zip(layers, expected, strict=True):
        assert layers[name].shape == (3, 128)  # the small ViT's width
        assert torch.allclose(layers[name], cls, atol=1e-5)
    assert logits.shape == (3, 10)


@pytest.mark.parametrize("arch,units", [("resnet18", 512), ("vgg19", 128), ("vit_small", 128)])
def test_extraction_shapes_on_a_tiny_batch(arch, units):
    """Small variants; the last layer's width: ResNet18's 512 channels, VGG19's 512 at a
    quarter width, the small ViT's 128."""
    layers, logits = extract_activations(small(arch, seed=0), [torch.rand(2, 3, 32, 32)])
    assert len(layers) == {**CONV_LAYERS, **VIT_LAYERS}[arch]
    assert all(v.shape[0] == 2 and v.dtype == torch.float32 for v in layers.values())
    assert list(layers.values())[-1].shape == (2, units) and logits.shape == (2, 10)


@pytest.mark.parametrize("arch,size,units", [("vit_b16", 224, 768), ("resnet50", 224, 2048),
                                             ("vgg16", 32, 512)])
def test_full_size_models_forward_one_image(arch, size, units):
    """ImageNet-sized models built at full width (VGG16 with its 4096-unit head) and one
    image; VGG16 at 32 px, which its adaptive pool accepts, to keep this fast."""
    model = build_model(arch, 1000, small_input=False, seed=0)
    layers, logits = extract_activations(model, [torch.rand(1, 3, size, size)])
    assert len(layers) == {**CONV_LAYERS, **VIT_LAYERS}[arch]
    assert list(layers.values())[-1].shape == (1, units) and logits.shape == (1, 1000)


BATCHING_MODELS = {}


@hypothesis_settings(max_examples=10)
@given(cut=st.integers(1, 5), arch=st.sampled_from(["vgg11", "vit_small"]))
def test_activations_do_not_depend_on_how_stimuli_are_batched(cut, arch):
    if arch not in BATCHING_MODELS:  # built once: the property is about the batching
        BATCHING_MODELS[arch] = small(arch, seed=1)
    model = BATCHING_MODELS[arch]
    images = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(cut))
    whole, _ = extract_activations(model, [images])
    split, _ = extract_activations(model, [images[:cut], images[cut:]])
    assert all(torch.allclose(whole[k], split[k], atol=1e-5) for k in whole)


def test_the_same_seed_gives_the_same_initial_network():
    a = build_model("resnet18", 10, seed=4).state_dict()
    b = build_model("resnet18", 10, seed=4).state_dict()
    c = build_model("resnet18", 10, seed=5).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["conv1.weight"], c["conv1.weight"])
    v1, v2 = build_model("vit_small", 10, seed=4), build_model("vit_small", 10, seed=4)
    assert torch.equal(v1.encoder.pos_embedding, v2.encoder.pos_embedding)


def test_unknown_architecture_and_bad_width():
    with pytest.raises(InputError, match="unknown architecture 'alexnet'"):
        build_model("alexnet", 10)
    with pytest.raises(InputError, match="width must be 1.0 for ResNets"):
        build_model("resnet18", 10, width=0.5)
    with pytest.raises(InputError, match="width must be 1.0 for ViTs"):
        build_model("vit_small", 10, width=0.5)


def test_a_vit_refuses_images_of_another_size():
    check_image_size(build_model("vit_small", 10), 32)
    check_image_size(build_model("vgg11", 10, width=0.25, small_input=True), 28)  # any size
    with pytest.raises(InputError, match="data.image_size: the ViT takes 32-pixel images, not 28"):
        check_image_size(build_model("vit_small", 10), 28)


def test_a_model_without_a_layer_rule_is_an_input_error():
    with pytest.raises(InputError, match="no layer rule for a Sequential"):
        layer_names(nn.Sequential(nn.Flatten(), nn.Linear(12, 2)))


def test_missing_checkpoint_and_bad_source_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_vision_model(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(InputError, match="not a readable checkpoint"):
        load_vision_model(str(tmp_path / "junk.pt"))
    with pytest.raises(InputError, match="give 'checkpoint', or 'arch' and 'weights'"):
        load_vision_model({"arch": "resnet18"})


def test_torchvision_weights_offline_are_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    source = {"arch": "resnet18", "weights": "torchvision:IMAGENET1K_V1"}
    expected = tmp_path / "torch" / "hub" / "checkpoints"
    with pytest.raises(InputError, match=r"resnet18 IMAGENET1K_V1 are not downloaded.*"
                       + str(expected)):
        load_vision_model(source)
    # allowed to download, but the network is unreachable (a dead local proxy): still one error
    for variable in ("https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(InputError, match=r"could not be loaded .*TORCH_HOME"):
        load_vision_model({**source, "download": True})
    assert not list(expected.glob("*.pth"))


def test_torchvision_weights_load_from_the_hub_cache(tmp_path, monkeypatch):
    """A file already in the cache loads through torchvision's weights API (here a seeded
    ResNet18 saved where ImageNet weights would be)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    from torchvision.models import ResNet18_Weights

    path = weights_cache_path(ResNet18_Weights.IMAGENET1K_V1.url)
    assert path.parent == tmp_path / "torch" / "hub" / "checkpoints"
    path.parent.mkdir(parents=True)
    saved = build_model("resnet18", 1000, seed=3).state_dict()
    torch.save(saved, path)
    model, spec = load_vision_model({"arch": "resnet18", "weights": "torchvision:IMAGENET1K_V1"})
    assert spec == {"arch": "resnet18", "source": "torchvision",
                    "weights": "torchvision:IMAGENET1K_V1", "num_classes": 1000}
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())
    assert len(layer_names(model)) == 17


def test_torchvision_weight_names_are_checked():
    with pytest.raises(InputError, match="IMAGENET1K_V1"):
        load_vision_model({"arch": "resnet18", "weights": "torchvision:IMAGENET9K"})
    with pytest.raises(InputError, match="expected 'torchvision:<NAME>'"):
        load_vision_model({"arch": "resnet18", "weights": "IMAGENET1K_V1"})
    with pytest.raises(InputError, match="'vit_small' has no torchvision weights"):
        load_vision_model({"arch": "vit_small", "weights": "torchvision:IMAGENET1K_V1"})
    assert set(TORCHVISION_NAMES) == set(ARCHITECTURES) - {"vit_small"}
