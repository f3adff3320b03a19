"""One process per device under ``torchrun`` / ``accelerate launch``: the process group and its helpers.

The launcher sets RANK, WORLD_SIZE and LOCAL_RANK; without them everything here is a single-process no-op.
CUDA uses NCCL (one device per local rank), CPU uses gloo.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    owns_group: bool = False  # we created the process group, so we destroy it

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def all_reduce_mean(self, module: torch.nn.Module) -> None:
        """Average gradients of a module that DDP does not wrap (the projection heads) across ranks."""
        if not self.enabled:
            return
        for param in module.parameters():
            if param.grad is not None:
                dist.all_reduce(param.grad)
                param.grad /= self.world_size

    def broadcast_object(self, value):
        """Rank 0's ``value`` on every rank."""
        if not self.enabled:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def setup(prefer_cuda: bool = True) -> DistContext:
    """Join the launcher's process group (if any) and pick this process's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = prefer_cuda and torch.cuda.is_available()
    if cuda:
        device = torch.device("cuda", local_rank if world_size > 1 else torch.cuda.current_device())
        if world_size > 1:
            torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    owns = False
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        owns = True
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=device, owns_group=owns)


def unsynced(model: torch.nn.Module):
    """DDP's ``no_sync`` for a backward that is not the step's last; nothing for a bare model."""
    return model.no_sync() if hasattr(model, "no_sync") else contextlib.nullcontext()
