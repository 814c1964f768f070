"""Architectures, model sources and the layers whose activations are compared.

Every architecture is a real torchvision model (:mod:`.zoo`, :mod:`.vit`). The compared layers
follow one rule per family (:mod:`.activations`): a convolutional network's layers are the
outputs of all its ``nn.Conv2d`` modules (downsampling shortcuts included), in the order the
model registers them, each reduced to its centre pixel; a ViT's layers are the [CLS] token after
each encoder block. Either way a layer is a (stimuli × units) matrix. Vision models come
from our checkpoints or torchvision's pretrained weights, language models (:mod:`.language`)
from our checkpoint folders or the Hugging Face hub (:mod:`.sources`); MoCo v2 lives in
:mod:`.moco`.
"""

from .activations import (
    LAYER_SPECS,
    LayerSpec,
    conv_layer_names,
    extract_activations,
    layer_names,
    layer_spec,
)
from .sources import build_from_spec, load_checkpoint, load_language_source, load_vision_model
from .vit import check_image_size
from .zoo import ARCHITECTURES, build_model

__all__ = ["ARCHITECTURES", "LAYER_SPECS", "LayerSpec", "build_from_spec", "build_model",
           "check_image_size", "conv_layer_names", "extract_activations", "layer_names",
           "layer_spec", "load_checkpoint", "load_language_source", "load_vision_model"]
