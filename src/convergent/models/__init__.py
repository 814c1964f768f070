"""Architectures, checkpoints and the layers whose activations are compared.

Every architecture is a real torchvision model. The compared layers of a convolutional network
are the outputs of all its ``nn.Conv2d`` modules (downsampling shortcuts included), in the order
the model registers them, each reduced to its centre pixel: a (stimuli × channels) matrix.
"""

from .activations import conv_layer_names, extract_activations
from .zoo import ARCHITECTURES, build_model

__all__ = ["ARCHITECTURES", "build_model", "conv_layer_names", "extract_activations"]
