"""The "free" adversary step (``RiftArgs.adv_free``): reuse the outer backward's gradient for the adversary.

"Free" adversarial training (Shafahi et al. 2019) updates the perturbation with the gradient the model's
own backward pass computes anyway. Here the perturbation is each word's combination logits: the outer
loss is built from weights that stay differentiable with respect to the adversary's final logits, so
``loss.backward()`` also yields d loss / d logits (one small extra product next to the embedding
gradient). A hook on the logits turns it into one ascent step of the adversary's objective and writes the
result into the warm-start store, where the example's next visit starts from it.

The direction is the outer loss's gradient (beta * dKL, plus gamma * dMI: the adversary then also works
against the MI term, as free training ascends the training loss) minus beta * d(alpha H(w) / 38400), the sparsity
term at the scale the KL has in the outer loss. The step is a sign step of size ``adv_lr``, which is what
Adam's first step from a fresh state is, so a free step counts like one more warm adversary step.
"""

from __future__ import annotations

import torch
from torch import Tensor

from textattack_rift.training.adversary import AdversaryResult, combination_weights, sparsity_penalty, tokens_from_words
from textattack_rift.training.args import RiftArgs
from textattack_rift.training.store import WarmStartStore


def free_token_weights(result: AdversaryResult, batch, args: RiftArgs, store: WarmStartStore) -> Tensor:
    """Token weights [B,T,K] equal to ``result.token_weights`` but differentiable w.r.t. ``result.logits``.

    When the outer loss built on them is back-propagated, a hook takes the free ascent step and stores
    the stepped logits for ``batch.indices``. Without autograd (evaluation) the weights are returned as
    they are and nothing is stored.
    """
    if batch.indices is None:
        raise ValueError("adv_free needs the batch's dataset indices (RiftBatch.indices)")
    if not torch.is_grad_enabled():
        return result.token_weights
    word_mask = result.word_mask
    start = result.logits.detach()
    with torch.enable_grad():  # d H(w) / d logits now: small [B,W,K] tensors, no encoder involved
        leaf = start.clone().requires_grad_(True)
        (entropy_grad,) = torch.autograd.grad(sparsity_penalty(leaf, word_mask, args.adv_entropy_weight), leaf)
    scale = args.beta if args.beta > 0 else args.gamma  # the weight the adversary's divergence has in L
    entropy_grad = scale * entropy_grad / max(start.shape[0], 1)  # L averages the KL over the batch
    indices, word_index = batch.indices.detach().clone(), batch.word_index

    logits = start.clone().requires_grad_(True)

    def ascend(grad: Tensor) -> None:
        with torch.no_grad():
            direction = grad.float() - entropy_grad
            store.update(indices, start + args.adv_lr * direction.sign(), word_index, word_mask)

    logits.register_hook(ascend)
    return tokens_from_words(combination_weights(logits, word_mask), word_index)
