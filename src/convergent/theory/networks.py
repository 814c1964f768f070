"""The networks of the theory's experiments (theory.md, "Experiments"), built from a variant spec.

A variant is a plain dict (the config's ``theory.variants`` entries), with ``kind``:

- ``mlp``: ``depth`` hidden layers of ``width`` units, ``activation``, optional ``dropout`` after
  every activation. Hidden layer k (1-based) is the output of the k-th activation (of its dropout
  when there is one, which is the identity in eval mode, where measurement happens).
- ``residual``: a linear map from the input to ``width`` units, then ``depth`` blocks
  z ← z + act(W z + b); hidden layer k is the stream after block k.
- ``cnn``: a 1-D convolutional network: ``depth`` layers of ``channels`` channels, kernel
  ``kernel`` (same padding), ``activation``, then a linear read-out of the flattened signal. Its
  input is a signal of ``length`` samples; hidden layer k is the output of the k-th activation.

Every weight is Xavier-normal with ``gain``, every bias zero (the paper's initialisation). With
``bias: false`` the network has no biases at all (they stay zero during training): the control
that tests whether the trained biases are what makes deep variants miss the final-distance
formula.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import InputError

ACTIVATIONS = {"leaky_relu": nn.LeakyReLU, "relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU,
               "silu": nn.SiLU, "linear": nn.Identity}


def _initialise(model: nn.Module, gain: float) -> None:
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv1d)):
            nn.init.xavier_normal_(module.weight, gain=gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise InputError(f"theory: unknown activation {name!r}; choose from "
                         + ", ".join(ACTIVATIONS))
    return ACTIVATIONS[name]()


class ResidualBlock(nn.Module):
    """z + act(W z + b)."""

    def __init__(self, width: int, activation: str, bias: bool = True):
        super().__init__()
        self.linear, self.act = nn.Linear(width, width, bias=bias), _activation(activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z + self.act(self.linear(z))


class ConvNet1d(nn.Module):
    """(batch, length) signals → ``depth`` same-padded Conv1d layers → linear read-out."""

    def __init__(self, depth: int, channels: int, kernel: int, length: int, activation: str,
                 d_out: int, bias: bool = True):
        super().__init__()
        layers, c_in = [], 1
        for _ in range(depth):
            layers += [nn.Conv1d(c_in, channels, kernel, padding=kernel // 2, bias=bias),
                       _activation(activation)]
            c_in = channels
        self.features = nn.Sequential(*layers)
        self.readout = nn.Linear(channels * length, d_out, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.features(x[:, None, :]).flatten(1))


def _mlp(spec: dict, d_in: int, d_out: int) -> tuple[nn.Module, list[nn.Module]]:
    sizes = [d_in] + [spec["width"]] * spec["depth"]
    layers: list[nn.Module] = []
    hidden = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b, bias=spec.get("bias", True)), _activation(spec["activation"])]
        if spec.get("dropout", 0.0) > 0:
            layers.append(nn.Dropout(spec["dropout"]))
        hidden.append(layers[-1])
    layers.append(nn.Linear(spec["width"], d_out, bias=spec.get("bias", True)))
    return nn.Sequential(*layers), hidden


def _residual(spec: dict, d_in: int, d_out: int) -> tuple[nn.Module, list[nn.Module]]:
    bias = spec.get("bias", True)
    blocks = [ResidualBlock(spec["width"], spec["activation"], bias)
              for _ in range(spec["depth"])]
    model = nn.Sequential(nn.Linear(d_in, spec["width"], bias=bias), *blocks,
                          nn.Linear(spec["width"], d_out, bias=bias))
    return model, blocks


def _cnn(spec: dict, d_in: int, d_out: int) -> tuple[nn.Module, list[nn.Module]]:
    if d_in != spec["length"]:
        raise InputError(f"theory: the cnn variant takes signals of length {spec['length']}, "
                         f"not {d_in} inputs")
    model = ConvNet1d(spec["depth"], spec["channels"], spec["kernel"], spec["length"],
                      spec["activation"], d_out, spec.get("bias", True))
    return model, [model.features[2 * k + 1] for k in range(spec["depth"])]


BUILDERS = {"mlp": _mlp, "residual": _residual, "cnn": _cnn}


def input_size(spec: dict, d_in: int = 1) -> int:
    """The input dimension a variant takes: the signal length for ``cnn``, else ``d_in``."""
    return spec["length"] if spec["kind"] == "cnn" else d_in


def build_network_layers(spec: dict, seed: int, d_in: int = 1, d_out: int = 1
                         ) -> tuple[nn.Module, list[nn.Module]]:
    """A freshly initialised network of variant ``spec`` (seeded by ``seed``) and the modules
    whose outputs are its hidden layers 1 … depth, in order."""
    if spec["kind"] not in BUILDERS:
        raise InputError(f"theory: unknown network kind {spec['kind']!r}; choose from "
                         + ", ".join(BUILDERS))
    torch.manual_seed(seed)
    model, hidden = BUILDERS[spec["kind"]](spec, input_size(spec, d_in), d_out)
    _initialise(model, spec["gain"])
    return model, hidden


def build_network(spec: dict, seed: int, d_in: int = 1, d_out: int = 1
                  ) -> tuple[nn.Module, nn.Module]:
    """A freshly initialised network of variant ``spec`` and the module whose output is the
    tracked hidden layer ``spec["layer"]`` (1-based)."""
    model, hidden = build_network_layers(spec, seed, d_in, d_out)
    if not 1 <= spec["layer"] <= len(hidden):
        raise InputError(f"theory: layer {spec['layer']} does not exist in a network with "
                         f"{len(hidden)} hidden layers")
    return model, hidden[spec["layer"] - 1]
