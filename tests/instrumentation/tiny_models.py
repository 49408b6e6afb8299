"""A tiny GPT-2 with random weights and a word-level tokenizer, built locally (no hub).

``build_tiny_gpt2(path)`` saves both to ``path`` so ``pipeline("text-generation",
model=str(path))`` and ``AutoModelForCausalLM.from_pretrained(path)`` load them offline.
The notebooks import it too (it is plain code, no test machinery).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["WORDS", "build_tiny_gpt2"]

_TEXT = (
    "the a cat dog sat on mat ran fast slow red blue tracing is fun hello world "
    "once upon time there was model that wrote tiny stories about spans"
)
WORDS = _TEXT.split()
_SPECIAL = ["<unk>", "<pad>", "<eos>"]


def build_tiny_gpt2(path: str | Path, seed: int = 0) -> tuple[Any, Any]:
    """Create, save and return ``(model, tokenizer)``: 2 layers, 32-dim embeddings."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    vocab = {token: index for index, token in enumerate(_SPECIAL + WORDS)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # words joined by spaces
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>"
    )
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(vocab),
        n_positions=64,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=vocab["<eos>"],
        eos_token_id=vocab["<eos>"],
        pad_token_id=vocab["<pad>"],
    )
    model = GPT2LMHeadModel(config).eval()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return GPT2LMHeadModel.from_pretrained(path).eval(), PreTrainedTokenizerFast.from_pretrained(
        path
    )
