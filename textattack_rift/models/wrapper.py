"""A TextAttack model wrapper that pads each query batch to its longest text, not to 512 tokens.

TextAttack's ``HuggingFaceModelWrapper`` pads every query to the tokenizer's maximum length; for
sentence-length inputs most of that compute is padding. The goal functions already batch queries and
cache outputs per text, so padding is the one thing to change.
"""

from __future__ import annotations

import torch
import transformers
from textattack.models.wrappers import HuggingFaceModelWrapper


def max_positions(model, tokenizer) -> int:
    """Longest input the model accepts: the tokenizer's limit capped by the position embeddings."""
    limit = tokenizer.model_max_length
    if not limit or limit > 100_000:  # tokenizers without a limit report int(1e30)
        limit = 512
    positions = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    return min(limit, positions) if positions else limit


class PaddedHuggingFaceModelWrapper(HuggingFaceModelWrapper):
    """Classification wrapper with batch-longest padding; otherwise TextAttack's wrapper unchanged."""

    def __init__(self, model, tokenizer, max_length=None):
        super().__init__(model, tokenizer, max_length=max_length)
        self.truncate_to = max_positions(model, tokenizer)

    def _is_generator(self) -> bool:
        config = getattr(self.model, "config", None)
        return bool(getattr(config, "is_encoder_decoder", False)) or not isinstance(
            self.model, transformers.PreTrainedModel
        )

    def __call__(self, text_input_list):
        if self._is_generator():
            return super().__call__(text_input_list)
        inputs = self.tokenizer(
            list(text_input_list),
            add_special_tokens=True,
            padding=True,
            truncation=True,
            max_length=self.truncate_to,
            return_tensors="pt",
        )
        inputs = inputs.to(next(self.model.parameters()).device)
        with torch.no_grad():
            return self.model(**inputs).logits
