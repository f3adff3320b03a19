"""The learning-rate schedule: warm-up, then linear decay (TextAttack's) or constant (the released script's)."""

from __future__ import annotations

import math

LR_SCHEDULES = ("linear", "constant")


def warmup_steps(value: int | float, total_steps: int) -> int:
    """TextAttack's ``num_warmup_steps`` semantics: a float is a ratio of the run (rounded up), an int a count."""
    if isinstance(value, float):
        value = math.ceil(value * total_steps)
    return min(int(value), total_steps)


def make_scheduler(optimizer, schedule: str, warmup: int | float, total_steps: int):
    """A ``LambdaLR`` that warms up linearly for ``warmup`` steps, then decays to 0 or stays constant."""
    import transformers

    if schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {schedule!r}; use one of {', '.join(LR_SCHEDULES)}")
    steps = warmup_steps(warmup, total_steps)
    if schedule == "constant":
        return transformers.get_constant_schedule_with_warmup(optimizer, num_warmup_steps=steps)
    return transformers.get_linear_schedule_with_warmup(optimizer, num_warmup_steps=steps, num_training_steps=total_steps)
