"""The MI term's feature, ``RiftArgs.feature`` / ``--rift-feature cls|mean|pooler``: S and T read alike."""

from __future__ import annotations

import pytest
import torch

import textattack_rift  # noqa: F401  (before transformers / textattack, as everywhere)
from textattack_rift.errors import RiftUserError
from textattack_rift.training.args import FEATURES, RiftArgs
from textattack_rift.training.features import pool_features
from textattack_rift.training.objectives import pooled_features
from textattack_rift.training.teacher import encoder_of, make_teacher, teacher_features

from test_training_core import hand_batch, tiny_model


def test_mean_is_the_masked_mean_over_real_tokens_and_pooler_is_the_encoders():
    hidden = torch.arange(2 * 3 * 2, dtype=torch.float32).view(2, 3, 2)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    assert torch.equal(pool_features(hidden, mask, "cls"), hidden[:, 0])
    expected = torch.stack([hidden[0].mean(0), hidden[1, :2].mean(0)])  # the padded position is left out
    assert torch.allclose(pool_features(hidden, mask, "mean"), expected)

    model = tiny_model()
    batch = hand_batch()
    model.eval()
    encoded = encoder_of(model)(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
    # BERT's own pooler_output: dense + tanh on the first token
    assert torch.allclose(pool_features(encoded.last_hidden_state, batch.attention_mask, "pooler", encoder_of(model)),
                          encoded.pooler_output, atol=1e-6)
    with pytest.raises(ValueError, match="no pooler layer; use feature 'cls' or 'mean'"):
        pool_features(hidden, mask, "pooler", torch.nn.Linear(2, 2))


@pytest.mark.parametrize("feature", FEATURES)
def test_student_and_teacher_read_the_same_feature(feature):
    """Before any update the student's feature on x equals the frozen teacher's: same kind, same pass."""
    model, batch = tiny_model(), hand_batch()
    teacher = make_teacher(model)
    model.eval()
    out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, output_hidden_states=True)
    student = pooled_features(model, out, feature, batch.attention_mask)
    t = teacher_features(teacher, batch.input_ids, batch.attention_mask, feature=feature)
    assert torch.allclose(student, t, atol=1e-5)
    others = [f for f in FEATURES if f != feature]
    assert all(not torch.allclose(student, pooled_features(model, out, other, batch.attention_mask)) for other in others)


def test_unknown_feature_is_one_line_naming_the_allowed_values():
    with pytest.raises(ValueError, match=r"RiftArgs.feature must be one of \('cls', 'mean', 'pooler'\), got 'avg'"):
        RiftArgs(feature="avg")
    assert RiftArgs(feature="mean").to_dict()["feature"] == "mean"
    assert RiftArgs.from_dict(RiftArgs(feature="pooler").to_dict()).feature == "pooler"


def test_rift_feature_flag_parses_and_refuses_unknown_values():
    import argparse

    from textattack_rift.integration import rift_train

    parser = argparse.ArgumentParser()
    rift_train.add_arguments(parser)
    extra = vars(parser.parse_args(["--rift", "--rift-feature", "mean"]))
    assert rift_train.rift_args_from(extra).feature == "mean"
    with pytest.raises(SystemExit):
        parser.parse_args(["--rift", "--rift-feature", "avg"])


def test_recipe_with_an_unknown_feature_names_the_file_and_key(tmp_path):
    from textattack_rift.experiments.recipe import load_recipe

    text = (
        '[data]\ndataset = "rotten_tomatoes"\ntrain_split = "train[:8]"\neval_split = "validation[:8]"\n'
        '[model]\nname = "minilm"\n[training.rift_args]\nfeature = "avg"\n[methods.rift]\n'
        '[evaluation]\nnum_examples = 2\nattacks = ["rift-ascc"]\n'
    )
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(RiftUserError) as err:
        load_recipe(path)
    message = str(err.value)
    assert "bad.toml" in message and "feature" in message and "'cls', 'mean', 'pooler'" in message
    assert "\n" not in message


def test_pooler_feature_on_an_encoder_without_pooler_fails_before_training(tmp_path, minilm_dir):
    """RoBERTa's classifier builds its encoder without a pooler, as users' RoBERTa models are."""
    import textattack
    from transformers import AutoTokenizer, RobertaConfig, RobertaForSequenceClassification

    from textattack_rift.models.wrapper import PaddedHuggingFaceModelWrapper
    from textattack_rift.threat import ThreatModel
    from textattack_rift.training.trainer import RiftTrainer

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir))
    config = RobertaConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=32, max_position_embeddings=64, num_labels=2)
    model = RobertaForSequenceClassification(config)
    assert getattr(model.roberta, "pooler", None) is None
    data = textattack.datasets.Dataset([("good film", 1), ("bad film", 0), ("great fun", 1), ("dull", 0)])
    trainer = RiftTrainer(
        PaddedHuggingFaceModelWrapper(model, tokenizer), train_dataset=data, eval_dataset=data,
        training_args=textattack.TrainingArgs(num_epochs=1, per_device_train_batch_size=4, output_dir=str(tmp_path)),
        rift_args=RiftArgs(feature="pooler", adv_steps=1), threat_model=ThreatModel("wordnet"), register_name=False,
    )
    with pytest.raises(RiftUserError, match="--rift-feature pooler: .*no pooler layer; use --rift-feature cls or mean"):
        trainer.train()
    assert not (tmp_path / "checkpoints").exists()
