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

# Resolved on first use (PEP 562): a job that needs one submodule, the language model's say,
# does not pay for importing torchvision (seconds, in every SLURM task).
_WHERE = {
    "LAYER_SPECS": "activations", "LayerSpec": "activations", "conv_layer_names": "activations",
    "extract_activations": "activations", "layer_names": "activations",
    "layer_spec": "activations", "build_from_spec": "sources", "load_checkpoint": "sources",
    "load_language_source": "sources", "load_vision_model": "sources",
    "check_image_size": "vit", "ARCHITECTURES": "zoo", "build_model": "zoo",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{_WHERE[name]}", __name__), name)
