"""MoCo v2 (He et al. 2020; Chen et al. 2020): momentum contrast with an MLP projection head.

The query encoder is an architecture of :mod:`convergent.models.zoo` whose classifier (``fc`` of
a ResNet, ``classifier`` of a VGG, ``heads`` of a ViT) is replaced by a two-layer projection
head, Linear(features → hidden) → ReLU → Linear(hidden → dim). Its compared layers are those of
the supervised architecture, since the head holds no convolution or encoder block. The key
encoder is a copy whose parameters follow the query's as an exponential moving average
(momentum m); a queue holds the last K keys as negatives, and the loss is InfoNCE at
temperature T over one positive (the other view's key) and the K negatives.

Differences from the reference implementation: one device, so no shuffled batch norm across
GPUs; the queue accepts any batch size (it wraps around).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError

#: Attribute names of the classifier the projection head replaces, tried in this order.
CLASSIFIER_NAMES = ("fc", "heads", "classifier")


def classifier_name(model: nn.Module) -> str:
    """The attribute holding ``model``'s classifier: ``fc`` (ResNet), ``heads`` (ViT) or
    ``classifier`` (VGG)."""
    for name in CLASSIFIER_NAMES:
        if isinstance(getattr(model, name, None), nn.Module):
            return name
    raise InputError(f"a {type(model).__name__} has no classifier ({', '.join(CLASSIFIER_NAMES)})"
                     " for a projection head to replace")


def feature_size(model: nn.Module) -> int:
    """Width of the features that enter ``model``'s classifier (its first linear layer)."""
    head = getattr(model, classifier_name(model))
    first = next(m for m in head.modules() if isinstance(m, nn.Linear))
    return first.in_features


def embedding_size(model: nn.Module) -> int:
    """Width of ``model``'s output: the last linear layer of its classifier or head."""
    head = getattr(model, classifier_name(model))
    return [m for m in head.modules() if isinstance(m, nn.Linear)][-1].out_features


def projection_sizes(width: float, hidden: int | None = None, dim: int | None = None
                     ) -> tuple[int, int]:
    """Hidden and output width of the projection head: MoCo v2's 2048 → 128 at width 1, scaled
    by ``width`` (at least 16 each) unless given."""
    return (hidden or max(16, round(2048 * width)), dim or max(16, round(128 * width)))


class ProjectionHead(nn.Sequential):
    """Linear(features → hidden) → ReLU → Linear(hidden → dim): (batch, features) → (batch, dim).
    """

    def __init__(self, features: int, hidden: int, dim: int):
        super().__init__(nn.Linear(features, hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, dim))


def attach_projection_head(model: nn.Module, hidden: int, dim: int) -> nn.Module:
    """``model`` with its classifier replaced by a :class:`ProjectionHead` (in place)."""
    setattr(model, classifier_name(model), ProjectionHead(feature_size(model), hidden, dim))
    return model


def backbone_features(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The features entering ``model``'s classifier or projection head: (batch, features).

    Runs the whole model and keeps the head's input, so the backbone's own forward is used as
    written (a ResNet's pool and flatten, a ViT's final LayerNorm and [CLS] token)."""
    kept = []
    head = getattr(model, classifier_name(model))
    hook = head.register_forward_pre_hook(lambda _module, inputs: kept.append(inputs[0]))
    try:
        model(images)
    finally:
        hook.remove()
    return kept[0]


class MoCo(nn.Module):
    """Query encoder, momentum key encoder and queue of negatives.

    Parameters
    ----------
    query : nn.Module
        The query encoder, images (b, 3, H, W) → embeddings (b, dim).
    queue_size : int
        K, the number of negatives kept.
    key_momentum : float
        m in key ← m · key + (1 − m) · query, applied before each key forward.
    temperature : float
        T of the InfoNCE logits.
    """

    def __init__(self, query: nn.Module, queue_size: int, key_momentum: float,
                 temperature: float):
        super().__init__()
        self.query = query
        self.key = copy.deepcopy(query)
        for parameter in self.key.parameters():
            parameter.requires_grad_(False)
        self.key_momentum, self.temperature = key_momentum, temperature
        dim = embedding_size(query)
        # Random unit vectors until real keys replace them, as in the reference code.
        self.register_buffer("queue", F.normalize(torch.randn(dim, queue_size), dim=0))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def momentum_update(self) -> None:
        """key ← m · key + (1 − m) · query, parameter by parameter."""
        for key, query in zip(self.key.parameters(), self.query.parameters(), strict=True):
            key.mul_(self.key_momentum).add_(query.detach(), alpha=1 - self.key_momentum)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Write ``keys`` (b, dim) over the oldest entries of the queue (wrapping around)."""
        size = self.queue.shape[1]
        keys = keys[-size:]
        slots = (self.queue_ptr + torch.arange(len(keys), device=keys.device)) % size
        self.queue[:, slots] = keys.T.to(self.queue.dtype)
        self.queue_ptr.copy_((self.queue_ptr + len(keys)) % size)

    def forward(self, view_q: torch.Tensor, view_k: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """InfoNCE loss of two views (b, 3, H, W) each, and the keys (b, dim) it enqueued."""
        q = F.normalize(self.query(view_q), dim=1)
        with torch.no_grad():
            self.momentum_update()
            k = F.normalize(self.key(view_k), dim=1)
        positive = (q * k).sum(dim=1, keepdim=True)
        negative = q @ self.queue.clone().detach()
        logits = torch.cat([positive, negative], dim=1) / self.temperature
        target = torch.zeros(len(q), dtype=torch.long, device=q.device)
        loss = F.cross_entropy(logits, target)
        self.enqueue(k)
        return loss, k


def blur_kernel(image_size: int) -> int:
    """Odd Gaussian-blur kernel of about a tenth of the image (23 at 224 px, 3 at 32 px)."""
    return max(3, int(0.1 * image_size) // 2 * 2 + 1)


def moco_augmentation(image_size: int):
    """MoCo v2's augmentation as torchvision ``transforms.v2`` on one image tensor (3, H, W),
    uint8 or float in [0, 1] → float32 (3, image_size, image_size).

    Random resized crop (scale 0.2–1), colour jitter (0.4, 0.4, 0.4, 0.1) with p = 0.8,
    grayscale with p = 0.2, Gaussian blur (σ in 0.1–2) with p = 0.5, horizontal flip. No
    normalisation, as in the supervised path. Draws from the global torch generator."""
    from torchvision.transforms import v2

    return v2.Compose([
        v2.RandomResizedCrop(image_size, scale=(0.2, 1.0), antialias=True),
        v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        v2.RandomGrayscale(p=0.2),
        v2.RandomApply([v2.GaussianBlur(blur_kernel(image_size), sigma=(0.1, 2.0))], p=0.5),
        v2.RandomHorizontalFlip(),
        v2.ToDtype(torch.float32, scale=True),
    ])


@torch.no_grad()
def knn_predict(test_features: torch.Tensor, bank: Iterable[tuple[torch.Tensor, torch.Tensor]],
                num_classes: int, k: int = 20, temperature: float = 0.07) -> torch.Tensor:
    """Weighted kNN classification (Wu et al. 2018, the MoCo monitor) on cosine similarity.

    Each test feature's k most similar bank features vote for their labels with weight
    exp(similarity / temperature); the class with the largest total wins.

    Parameters
    ----------
    test_features : Tensor
        (n, features).
    bank : iterable of (Tensor, Tensor)
        Chunks of the memory bank: features (b, features) and integer labels (b,). Streamed, so
        that only (n, k) best matches are held, never the whole bank.
    num_classes, k, temperature
        As named; fewer than k bank entries means all of them vote.

    Returns
    -------
    Tensor
        (n,) predicted labels.
    """
    test = F.normalize(test_features.float(), dim=1)
    best = torch.empty(len(test), 0, device=test.device)
    best_labels = torch.empty(len(test), 0, dtype=torch.long, device=test.device)
    for features, labels in bank:
        similarity = test @ F.normalize(features.float().to(test.device), dim=1).T
        pool = torch.cat([best, similarity], dim=1)
        pool_labels = torch.cat([best_labels, labels.to(test.device).expand(len(test), -1)], 1)
        best, where = pool.topk(min(k, pool.shape[1]), dim=1)
        best_labels = pool_labels.gather(1, where)
    if best.shape[1] == 0:
        raise InputError("the kNN memory bank is empty")
    votes = torch.zeros(len(test), num_classes, device=test.device)
    # relative to each row's best match, which scales a row's votes alike and cannot overflow
    votes.scatter_add_(1, best_labels, ((best - best[:, :1]) / temperature).exp())
    return votes.argmax(dim=1)
