"""Grammar-constrained generation in process, with xgrammar.

Each row of a batch may carry its own JSON schema (or none): `SchemaMask` keeps
one grammar matcher per constrained row and, at every step, sets the score of
each token its grammar does not allow to -inf. Grammars are compiled once per
(schema, tokenizer) and kept: `Grammars` belongs to a loaded model. Answers are
written without spare whitespace, the form `schemas.worst_case_bytes` bounds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, List, Optional, Sequence

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.providers.local.generation import token_ids
from llama_vision_block.schemas import ResponseSchema

# Compiled grammars kept per loaded model; a step reuses one for all its images.
MAX_GRAMMARS = 64
INSTALL_HINT = "pip install 'llama-vision-block[local]' (or: pip install xgrammar)"


def xgrammar_module() -> Optional[Any]:
    """The `xgrammar` module, or None where it is not installed."""
    try:
        import xgrammar
    except ImportError:
        return None
    return xgrammar


class Grammars:
    """Compiled grammars for one tokenizer, by schema; compiled at most once each."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop_token_ids: Sequence[int]) -> None:
        xgr = xgrammar_module()
        if xgr is None:
            raise ConfigurationError(f"constrained decoding in process needs xgrammar: {INSTALL_HINT}.")
        self._xgr = xgr
        info = xgr.TokenizerInfo.from_huggingface(
            tokenizer, vocab_size=vocab_size, stop_token_ids=list(stop_token_ids)
        )
        self._compiler = xgr.GrammarCompiler(info, cache_enabled=False)
        self.vocab_size = vocab_size
        self._lock = threading.Lock()
        self._compiled: "OrderedDict[str, Any]" = OrderedDict()
        self.compiles = 0  # read by the benchmark and the tests

    @classmethod
    def for_model(cls, model: Any, tokenizer: Any) -> "Grammars":
        """Grammars for a loaded model: its language head's vocabulary (which may be
        smaller than the tokenizer's) and its end-of-turn tokens as stops."""
        return cls(
            tokenizer,
            vocab_size=model.get_output_embeddings().weight.shape[0],
            stop_token_ids=sorted(token_ids(model.generation_config.eos_token_id)),
        )

    def compiled(self, constraint: ResponseSchema) -> Any:
        """The grammar for `constraint`'s schema, compiled on first use."""
        with self._lock:  # one compile per schema, however many rows ask at once
            grammar = self._compiled.get(constraint.key)
            if grammar is None:
                grammar = self._compiler.compile_json_schema(
                    constraint.key, any_whitespace=False, strict_mode=True
                )
                self.compiles += 1
                self._compiled[constraint.key] = grammar
                while len(self._compiled) > MAX_GRAMMARS:
                    self._compiled.popitem(last=False)
            else:
                self._compiled.move_to_end(constraint.key)
            return grammar

    def mask(self, constraints: Sequence[Optional[ResponseSchema]]) -> Optional["SchemaMask"]:
        """A logits processor for one `generate` call, or None when no row is constrained."""
        if not any(constraints):
            return None
        grammars = [None if constraint is None else self.compiled(constraint) for constraint in constraints]
        return SchemaMask(self._xgr, grammars, self.vocab_size)


class SchemaMask:
    """Masks each constrained row's scores to what its grammar allows next. One
    `generate` call only: matchers keep the state of their row's answer."""

    def __init__(self, xgr: Any, grammars: Sequence[Optional[Any]], vocab_size: int) -> None:
        self._xgr = xgr
        self._matchers: List[Optional[Any]] = [
            None if grammar is None else xgr.GrammarMatcher(grammar) for grammar in grammars
        ]
        self._rows = [row for row, matcher in enumerate(self._matchers) if matcher is not None]
        self._bitmask = xgr.allocate_token_bitmask(len(self._matchers), vocab_size)
        self._started = False

    @property
    def finished(self) -> bool:
        """Whether every constrained row has written a complete answer."""
        return all(self._matchers[row].is_terminated() for row in self._rows)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self._started:  # the token each row took at the previous step
            for row in self._rows:
                matcher = self._matchers[row]
                if not matcher.is_terminated():
                    matcher.accept_token(int(input_ids[row, -1]))
        self._started = True
        self._bitmask.fill_(-1)  # every token allowed: the unconstrained rows keep theirs
        for row in self._rows:
            matcher = self._matchers[row]
            if not matcher.is_terminated():
                matcher.fill_next_token_bitmask(self._bitmask, row)
        device = scores.device
        masked = scores if device.type in ("cpu", "cuda") else scores.cpu()
        self._xgr.apply_token_bitmask_inplace(masked, self._bitmask.to(masked.device))
        return masked.to(device)
