"""Language models through Hugging Face ``transformers``: loading, the compared layers, and
sentence representations.

A model comes from a Hugging Face hub id with an optional revision (e.g. Pythia's intermediate
training steps: ``"EleutherAI/pythia-70m"`` at ``"step1000"``) or from a local directory written
by ``save_pretrained`` (model and tokenizer), which is what :mod:`convergent.training.language`
writes per epoch. Both go through the same ``AutoTokenizer`` /
``AutoModelForCausalLM.from_pretrained`` call, never with ``trust_remote_code``.

Compared layers, in network order: ``embed`` (the token embeddings that enter the first block)
and ``block0`` … ``block{L-1}`` (the output of each transformer block). They are the model's
``hidden_states`` (``output_hidden_states=True``); following ``transformers``, the last one,
``block{L-1}``, is taken after the model's final layer norm. A sentence's representation in a
layer is the mean of that layer over the sentence's real tokens (``pooling="mean"``; padding
excluded through the attention mask) or the layer at its last real token (``pooling="last"``).
Sentences are tokenised as the model's tokenizer does by default (GPT-NeoX tokenizers add no
special tokens) and padded on the right, so that with causal attention the padding can never
reach a real token.

The loss of a model on sentences is the mean next-token cross-entropy (nats) over every
predicted real token (each token after a sentence's first, given the tokens before it); the
accuracy is the fraction of those tokens the model ranks first. Language models have no class
labels, so these stand where image models report their accuracy.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from ..errors import InputError

if TYPE_CHECKING:  # transformers costs seconds to import; only the language verbs need it
    from transformers import GPTNeoXConfig, PreTrainedModel, PreTrainedTokenizerBase

POOLINGS = ("mean", "last")
PAD, UNK, EOS = "<pad>", "<unk>", "<eos>"


@dataclass(frozen=True)
class SentenceScore:
    """Next-token loss (mean cross-entropy, nats) and top-1 accuracy over ``tokens`` predicted
    tokens."""

    loss: float
    accuracy: float
    tokens: int


# --------------------------------------------------------------------------- tokenizer, config


def build_word_tokenizer(texts: Sequence[str]):
    """A word-level ``PreTrainedTokenizerFast`` whose vocabulary is every word and punctuation
    mark of ``texts`` (split on whitespace and at punctuation), sorted, after the special tokens
    ``<pad>`` (id 0), ``<unk>`` (1) and ``<eos>`` (2, also the beginning-of-text token).

    Decoding joins words with spaces and removes the space before ``.``, ``,``, ``?`` and
    ``!``, so a sentence written that way survives ``decode(encode(text))``.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    split = pre_tokenizers.Whitespace()
    words = sorted({word for text in texts for word, _ in split.pre_tokenize_str(text)})
    vocab = {token: i for i, token in enumerate([PAD, UNK, EOS, *words])}
    core = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    core.pre_tokenizer = split
    # WordPiece's clean-up step is what re-attaches punctuation; the words carry no "##".
    core.decoder = decoders.WordPiece(cleanup=True)
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token=PAD, unk_token=UNK,
                                   eos_token=EOS, bos_token=EOS)


def tiny_gptneox_config(vocab_size: int, hidden_size: int = 64, layers: int = 2,
                        heads: int = 4, intermediate_size: int | None = None,
                        max_length: int = 128, pad_token_id: int = 0,
                        eos_token_id: int = 2) -> GPTNeoXConfig:
    """A GPT-NeoX (Pythia's architecture) small enough to train on a CPU in seconds.

    ``intermediate_size`` defaults to 4 × ``hidden_size``, as in Pythia; ``max_length`` is the
    number of positions. Dropout is off, as in Pythia.
    """
    from transformers import GPTNeoXConfig

    if hidden_size % heads:
        raise InputError(f"model.hidden_size ({hidden_size}) must be a multiple of "
                         f"model.heads ({heads})")
    return GPTNeoXConfig(vocab_size=vocab_size, hidden_size=hidden_size,
                         num_hidden_layers=layers, num_attention_heads=heads,
                         intermediate_size=intermediate_size or 4 * hidden_size,
                         max_position_embeddings=max_length, pad_token_id=pad_token_id,
                         bos_token_id=eos_token_id, eos_token_id=eos_token_id,
                         tie_word_embeddings=False, use_cache=False)


def build_language_model(config: GPTNeoXConfig, seed: int) -> PreTrainedModel:
    """A freshly initialised ``GPTNeoXForCausalLM`` whose weights depend on ``seed`` alone (the
    global torch generator is left as it was)."""
    from transformers import GPTNeoXForCausalLM

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GPTNeoXForCausalLM(config)
    return model.float()


# --------------------------------------------------------------------------- loading


def _is_local(source: str) -> bool:
    """A source names a local directory when it exists, or is written like a path (absolute,
    ``.``/``~``-relative, or more than one ``/``); otherwise it is a hub id (``owner/name``)."""
    return (os.path.exists(os.path.expanduser(source)) or os.path.isabs(source)
            or source.startswith((".", "~")) or source.count("/") > 1)


def load_language_model(source: str, revision: str | None = None, device="cpu",
                        local_files_only: bool = False
                        ) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The causal language model and tokenizer at ``source``, in eval mode, float32, on
    ``device``.

    Parameters
    ----------
    source
        A local directory written by ``save_pretrained`` (config, weights and tokenizer), or a
        Hugging Face hub id such as ``"EleutherAI/pythia-70m"``.
    revision
        A hub branch, tag or commit (Pythia's ``"step1000"``); only for hub ids.
    local_files_only
        Use only the local Hugging Face cache for hub ids (no network).

    Raises
    ------
    InputError
        A directory without ``config.json``, a revision given with a directory, or a hub id (or
        revision) that cannot be resolved; the message names the source.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    location = _check_source(source, revision)
    options = {"revision": revision, "local_files_only": local_files_only,
               "trust_remote_code": False}
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, **options)
        model = AutoModelForCausalLM.from_pretrained(location, **options)
    except (OSError, ValueError, KeyError) as err:
        where = source + (f" at revision {revision!r}" if revision else "")
        raise InputError(f"language model {where}: cannot be loaded "
                         f"({_first_line(err)})") from None
    return model.to(device=device, dtype=torch.float32).eval(), tokenizer


def _check_source(source: str, revision: str | None) -> str:
    """The location to hand to ``from_pretrained``, after the checks that need no loading."""
    if not isinstance(source, str) or not source.strip():
        raise InputError(f"language model source {source!r}: expected a hub id or a directory")
    if not _is_local(source):
        return source
    path = Path(source).expanduser()
    if revision is not None:
        raise InputError(f"language model {source}: a revision ({revision!r}) applies to hub "
                         f"ids only, not to a local directory")
    if not path.is_dir():
        raise InputError(f"language model {source}: no such directory")
    if not (path / "config.json").is_file():
        raise InputError(f"language model {source}: no config.json (not a directory written "
                         f"by save_pretrained)")
    return str(path)


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


# --------------------------------------------------------------------------- layers, pooling


def language_layer_names(model: PreTrainedModel) -> list[str]:
    """``["embed", "block0", …, "block{L-1}"]`` for a model with L transformer blocks: the
    names of its ``hidden_states``, in network order."""
    config = model.config
    if hasattr(config, "get_text_config"):  # multimodal configs keep the text model's apart
        config = config.get_text_config()
    return ["embed"] + [f"block{i}" for i in range(config.num_hidden_layers)]


def pool_tokens(hidden: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Reduce (batch × tokens × features) to (batch × features) over the real tokens.

    ``mask`` (batch × tokens) is 1 at real tokens, which come first in each row (padding on
    the right). ``mean`` averages the real tokens; ``last`` takes the last real one.
    """
    if pooling == "mean":
        weights = mask.to(hidden.dtype).unsqueeze(-1)
        return (hidden * weights).sum(1) / weights.sum(1)
    if pooling == "last":
        last = mask.long().sum(1) - 1
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise InputError(f"pooling {pooling!r} is unknown; choose from {', '.join(POOLINGS)}")


def next_token_stats(logits: torch.Tensor, input_ids: torch.Tensor, mask: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Summed next-token cross-entropy, number predicted correctly, and number predicted.

    ``logits`` is (batch × tokens × vocabulary); the prediction at position t is scored against
    the token at t + 1 wherever that token is real (``mask`` 1). The loss sum keeps its graph,
    so training can divide it by the count and back-propagate.
    """
    targets = input_ids[:, 1:]
    real = mask[:, 1:].bool()
    predictions = logits[:, :-1][real]
    loss = F.cross_entropy(predictions.float(), targets[real], reduction="sum")
    correct = (predictions.argmax(-1) == targets[real]).sum()
    return loss, correct, real.sum()


def pad_right(sequences: Sequence[Sequence[int]], pad_id: int = 0
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id lists → (batch × longest) ids padded on the right with ``pad_id``, and the
    attention mask (1 at real tokens)."""
    longest = max(len(ids) for ids in sequences)
    ids = torch.full((len(sequences), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), longest), dtype=torch.long)
    for row, tokens in enumerate(sequences):
        ids[row, :len(tokens)] = torch.as_tensor(list(tokens), dtype=torch.long)
        mask[row, :len(tokens)] = 1
    return ids, mask


def tokenize_sentences(tokenizer: PreTrainedTokenizerBase, sentences: Sequence[str],
                       max_length: int) -> list[list[int]]:
    """Token ids of each sentence as the tokenizer encodes it by default, cut at
    ``max_length`` tokens; an empty or whitespace-only sentence is an ``InputError``."""
    encoded = tokenizer(list(sentences), truncation=True, max_length=max_length)["input_ids"]
    for index, ids in enumerate(encoded):
        if not ids:
            raise InputError(f"sentence {index} ({sentences[index]!r}) has no tokens")
    return encoded


# --------------------------------------------------------------------------- representations


@torch.no_grad()
def run_sentences(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                  sentences: Sequence[str], pooling: str = "mean", batch_size: int = 32,
                  device="cpu") -> tuple[dict[str, torch.Tensor], SentenceScore]:
    """Sentence representations in every compared layer and the model's next-token score on
    the sentences, from one pass.

    Returns
    -------
    layers
        Layer name → (sentences × hidden) float32 tensor on the CPU, in network order.
    score
        ``SentenceScore`` over all predicted tokens of all sentences.
    """
    if pooling not in POOLINGS:
        raise InputError(f"pooling {pooling!r} is unknown; choose from {', '.join(POOLINGS)}")
    if len(sentences) == 0:
        raise InputError("no sentences to run through the language model")
    model = model.to(device).eval()
    names = language_layer_names(model)
    encoded = tokenize_sentences(tokenizer, sentences, _max_length(model, tokenizer))
    pooled: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    loss, correct, count = 0.0, 0, 0
    for start in range(0, len(encoded), batch_size):
        ids, mask = (t.to(device) for t in pad_right(encoded[start:start + batch_size]))
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True,
                    use_cache=False)
        if len(out.hidden_states) != len(names):
            raise InputError(f"{type(model).__name__}: returned {len(out.hidden_states)} "
                             f"hidden states, expected {len(names)} (embedding + blocks)")
        for name, hidden in zip(names, out.hidden_states, strict=True):
            pooled[name].append(pool_tokens(hidden.float(), mask, pooling).cpu())
        batch_loss, batch_correct, batch_count = next_token_stats(out.logits, ids, mask)
        loss, correct = loss + float(batch_loss), correct + int(batch_correct)
        count += int(batch_count)
    score = SentenceScore(loss / count if count else float("nan"),
                          correct / count if count else float("nan"), count)
    return {name: torch.cat(parts) for name, parts in pooled.items()}, score


def sentence_activations(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                         sentences: Sequence[str], pooling: str = "mean", batch_size: int = 32,
                         device="cpu") -> dict[str, torch.Tensor]:
    """Layer name → (sentences × hidden) representations (see ``run_sentences``)."""
    return run_sentences(model, tokenizer, sentences, pooling, batch_size, device)[0]


def _max_length(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> int:
    """The longest input both the model's positions and the tokenizer allow."""
    limits = [getattr(model.config, "max_position_embeddings", None),
              getattr(tokenizer, "model_max_length", None)]
    # tokenizers without a limit report a huge sentinel value
    return min((x for x in limits if isinstance(x, int) and 0 < x < 10**9), default=2048)
