"""Stop training at the first non-finite loss, naming the step and the term, before any weight is updated."""

import torch


def check_finite(module, logs: dict[str, torch.Tensor], terms: tuple[str, ...]) -> None:
    present = [name for name in terms if name in logs]
    if torch.stack([logs[name].detach().float() for name in present]).isfinite().all():
        return  # one host sync per step
    bad = ", ".join(f"{name} = {float(logs[name])}" for name in present if not torch.isfinite(logs[name]))
    raise FloatingPointError(
        f"{type(module).__name__}: non-finite {bad} at global step {module.global_step} (epoch "
        f"{module.current_epoch}); training stopped before this step changed any weight, and the checkpoints "
        f"already on disk are untouched. Resume from last.ckpt with a lower learning rate or full precision.")
