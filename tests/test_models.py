"""Architectures, compared layers and centre-pixel activations."""

import pytest
import torch
from torch import nn

from convergent.errors import InputError
from convergent.models import build_model, conv_layer_names, extract_activations


@pytest.mark.parametrize("arch,n_layers", [("resnet18", 20), ("vgg11", 8), ("resnet50", 53),
                                           ("vgg16", 13), ("vgg19", 16)])
def test_every_convolution_is_a_layer_in_network_order(arch, n_layers):
    model = build_model(arch, 10, width=0.25 if arch.startswith("vgg") else 1.0,
                        small_input=True)
    names = conv_layer_names(model)
    assert len(names) == n_layers
    assert names == [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def test_centre_pixel_activations_match_a_manual_forward():
    model = build_model("vgg11", 10, width=0.25, small_input=True, seed=0).eval()
    images = torch.rand(5, 3, 32, 32)
    layers, logits = extract_activations(model, [images[:3], images[3:]])
    first = model.features[0](images)  # the first convolution
    assert torch.allclose(layers["features.0"], first[:, :, 16, 16], atol=1e-6)
    assert logits.shape == (5, 10)
    assert [v.shape[0] for v in layers.values()] == [5] * 8


def test_the_same_seed_gives_the_same_initial_network():
    a = build_model("resnet18", 10, seed=4).state_dict()
    b = build_model("resnet18", 10, seed=4).state_dict()
    c = build_model("resnet18", 10, seed=5).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["conv1.weight"], c["conv1.weight"])


def test_unknown_architecture_and_bad_width():
    with pytest.raises(InputError, match="unknown architecture 'alexnet'"):
        build_model("alexnet", 10)
    with pytest.raises(InputError, match="width must be 1.0 for ResNets"):
        build_model("resnet18", 10, width=0.5)
