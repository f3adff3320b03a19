"""Tiny randomly initialised BERT classifiers, for tests and benchmark stand-ins (never for results)."""

from __future__ import annotations


def tiny_bert_classifier(
    vocab_size: int,
    *,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    max_positions: int = 128,
    initializer_range: float = 0.5,
    dropout: float = 0.1,
    num_labels: int = 2,
    seed: int = 0,
):
    """A ``BertForSequenceClassification`` built from a config (no download). A large
    ``initializer_range`` makes its predictions sensitive to word swaps, so attacks can succeed."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=max_positions,
        initializer_range=initializer_range,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        num_labels=num_labels,
    )
    return BertForSequenceClassification(config)
