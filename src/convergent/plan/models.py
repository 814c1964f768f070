"""The config's models resolved for the workflow: family, modality, seeds, training axis, stimuli.

Each model of ``config["models"]`` becomes a dict with its schema defaults and:

- ``family``: ``cnn``, ``vit`` or ``language`` (:func:`family`, the one place that says what
  kind of network an architecture is);
- ``modality``: ``language`` for the language family, else ``vision``;
- ``seeds``: its own ``seeds`` or the top-level ones (torchvision weights: one network, seed 0);
- ``train``: for a vision model trained here, its complete training settings: its own
  ``train:`` merged over the top-level section (:func:`training_settings`);
- ``epochs``: the training axis — for a model trained here the checkpoints its run keeps
  (:func:`convergent.training.axis.checkpoint_axis`: the kept epochs of ``train`` or
  ``language.train``, 0 and the last always, and the fractions of epoch 1 in ``sub_epochs``),
  else the model's ``epochs`` (Pythia's steps, say); the first is the untrained baseline, the
  last the final checkpoint;
- ``stimset``: the in-distribution stimulus set it is compared on: :data:`IMAGES` or
  :data:`SENTENCES`.

Models are compared across architectures (the cross analysis) only within a *group*: the same
modality, and either both trained here (each to the end of its own recipe, which is what
"trained" means for it) or both on the same training axis, so that "final" means the same
checkpoint for both.
"""

from __future__ import annotations

from ..config import with_defaults
from ..errors import InputError
from ..training.axis import checkpoint_axis

#: The in-distribution stimulus sets: the test images of vision models, the sentences of
#: language models (the OOD sets are named after themselves).
IMAGES, SENTENCES = "test", "sentences"
#: Joins the in-distribution set to an OOD set in the name of its size-matched subset.
MATCHED = "@"


def matched_stimset(ood: str) -> str:
    """The name of the in-distribution subset as large as OOD set ``ood`` (``test@contrast``):
    the baseline an OOD score is compared with, since a smaller stimulus set lowers a
    cross-validated score on its own."""
    return f"{IMAGES}{MATCHED}{ood}"


def matched_ood(stimset: str) -> str | None:
    """The OOD set a matched in-distribution subset is sized by, or None for any other set."""
    base, sep, ood = stimset.partition(MATCHED)
    return ood if sep and base == IMAGES else None


def read_stimset(stimset: str) -> str:
    """The stimulus set whose activations a job on ``stimset`` reads (a matched subset reads
    the whole in-distribution set)."""
    return IMAGES if matched_ood(stimset) else stimset

#: Every architecture of the schema → its family.
ARCH_FAMILY = {"resnet18": "cnn", "resnet50": "cnn", "vgg11": "cnn", "vgg16": "cnn",
               "vgg19": "cnn", "vit_small": "vit", "vit_b16": "vit",
               "gptneox_tiny": "language", "gptneox": "language"}
#: How a family is named in figures and tables.
FAMILY_LABELS = {"cnn": "CNN", "vit": "ViT", "language": "language model"}


#: The family of recorded responses (``source: responses``): brain regions, or any
#: representation saved elsewhere, compared like a network whose layers are its regions.
RESPONSES = "responses"


def family(spec: dict) -> str:
    """``cnn``, ``vit``, ``language`` (from ``arch``) or ``responses``: what kind of model a
    spec is."""
    if spec.get("source") == RESPONSES:
        return RESPONSES
    return ARCH_FAMILY[spec["arch"]]


def modality(spec: dict) -> str:
    """``language`` or ``vision``: what a model sees."""
    return "language" if family(spec) == "language" else "vision"


def _check_responses(name: str, given: dict) -> None:
    extra = [key for key in ("arch", "epochs") if key in given]
    if extra:
        raise ValueError(f"models.{name}.{extra[0]}: recorded responses have no {extra[0]} "
                         "(their regions and stimuli are in the files at `path`)")


def _check(name: str, spec: dict) -> None:
    lm = family(spec) == "language"
    if spec["source"] == "train" and spec["arch"] == "gptneox":
        raise ValueError(f"models.{name}: gptneox models come from the hub or a folder "
                         "(source hub or checkpoint); gptneox_tiny is trained here")
    if spec["source"] in ("hub", "checkpoint") and spec["arch"] == "gptneox_tiny":
        raise ValueError(f"models.{name}: use arch gptneox for a language model from the hub "
                         "or a folder")
    if spec["source"] == "hub" and not lm:
        raise ValueError(f"models.{name}: source hub is for language models (arch gptneox)")
    if spec["source"] == "torchvision" and lm:
        raise ValueError(f"models.{name}: source torchvision is for vision models")
    if spec["source"] == "torchvision" and len(spec["epochs"]) != 1:
        raise ValueError(f"models.{name}.epochs: torchvision weights are one checkpoint; give "
                         "one label, e.g. [90]")
    if spec.get("width", 1.0) != 1.0 and not spec["arch"].startswith("vgg"):
        raise ValueError(f"models.{name}.width: only VGG is narrowed; {spec['arch']} has "
                         f"fixed widths (leave width at 1.0)")
    if spec.get("objective") == "moco" and (lm or spec["source"] != "train"):
        raise ValueError(f"models.{name}.objective: moco trains a vision model here")
    if "train" in spec and (lm or spec["source"] != "train"):
        raise ValueError(f"models.{name}.train: only vision models trained here (source "
                         "train) have their own training settings (language models: the "
                         "`language` section)")


def training_settings(name: str, config: dict, own: dict | None) -> dict:
    """The complete ``train`` settings of vision model ``name``: its own ``train:`` over the
    top-level section (``moco`` key by key), with the schema's defaults; a ``ValueError``
    names the key at fault."""
    top, own = config.get("train", {}), own or {}
    merged = {**top, **own}
    if "moco" in own:
        merged["moco"] = {**top.get("moco", {}), **own["moco"]}
    try:
        return with_defaults("train", merged)
    except InputError as err:
        raise ValueError(_blame(name, str(err), own)) from None


def _blame(name: str, message: str, own: dict) -> str:
    """``message`` ("train.lr: …") said of model ``name``'s own settings when the key is
    one of them (or unknown, which only a model's own settings can be: the workflow's schema
    has checked the top level)."""
    key = message.split(":")[0].split(".")
    return f"models.{name}.{message}" if len(key) < 2 or key[1] in own else message


def _axis(name: str, spec: dict, config: dict) -> list:
    """The checkpoints a model trained here keeps."""
    if spec["modality"] == "language":
        settings = with_defaults(("language", "train"), config["language"]["train"])
        return checkpoint_axis(settings["epochs"], sub_epochs=settings["sub_epochs"])
    settings = spec["train"]
    try:
        return checkpoint_axis(settings["epochs"], settings["keep"], settings["sub_epochs"])
    except ValueError as err:
        raise ValueError(_blame(name, str(err), config["models"][name].get("train") or {})
                         ) from None


def resolve_models(config: dict, defaults: dict) -> dict[str, dict]:
    """Every model of the validated ``config`` with ``defaults`` (the schema's per-model
    defaults) filled in and the keys above added; a ``ValueError`` names a bad combination."""
    models = {}
    point = with_defaults("extract", config.get("extract", {}))["point"]  # once, not per model
    for name, given in config["models"].items():
        spec = {**defaults, **given}
        if spec["source"] == RESPONSES:
            _check_responses(name, given)
            # one recording per subject: a single checkpoint, labelled 0, no architecture
            spec.update(arch=RESPONSES, objective=None, epochs=[0])
        else:
            _check(name, spec)
        spec["family"] = family(spec)
        spec["modality"] = modality(spec)
        if spec["source"] == "train":
            if spec["modality"] == "vision":
                spec["train"] = training_settings(name, config, given.get("train"))
            spec["epochs"] = _axis(name, spec, config)
        spec["seeds"] = ([0] if spec["source"] == "torchvision"
                         else list(given.get("seeds") or config["seeds"]))
        spec["stimset"] = SENTENCES if spec["modality"] == "language" else IMAGES
        spec["point"] = given.get("point") or point
        models[name] = spec
    return models


def groups(models: dict[str, dict]) -> list[list[str]]:
    """Models that the cross analysis compares with each other, in config order: the models of
    one modality trained here (each read at the end of its own recipe), and models from
    elsewhere of one modality and one training axis."""
    found: dict[tuple, list[str]] = {}
    for name, spec in models.items():
        if spec["family"] == RESPONSES:  # compared with every network instead (jobs.py)
            continue
        axis = "trained here" if spec["source"] == "train" else tuple(spec["epochs"])
        found.setdefault((spec["modality"], axis), []).append(name)
    return list(found.values())


def trained_here(models: dict[str, dict], modality_name: str) -> list[str]:
    """Models of a modality that the workflow trains."""
    return [m for m, s in models.items()
            if s["source"] == "train" and s["modality"] == modality_name]


def axis_unit(spec: dict) -> str:
    """What a model's checkpoint axis counts: ``step`` for hub models (Pythia's revisions),
    else ``epoch``."""
    return "step" if spec["source"] == "hub" else "epoch"


def model_rows(models: dict[str, dict]) -> list[dict]:
    """The ``models`` result table: one row per model with what figures and headlines need to
    know about it that the alignment rows do not say: its family, objective and source, the two
    ends of its own training axis (``untrained``, ``trained``), what the axis counts (``axis``)
    and, for steps, the training tokens per step."""
    return [{"model": name, "arch": spec["arch"], "family": spec["family"],
             "modality": spec["modality"], "objective": spec.get("objective", "supervised"),
             "source": spec["source"], "untrained": spec["epochs"][0],
             "trained": spec["epochs"][-1], "seeds": len(spec["seeds"]),
             "axis": axis_unit(spec),
             "tokens_per_step": spec["tokens_per_step"] if axis_unit(spec) == "step" else None}
            for name, spec in models.items()]
