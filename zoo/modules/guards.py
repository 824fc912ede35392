"""Stop training at the first non-finite loss, naming the step and the term (or the input batch, when it is the
data that holds NaN/Inf), before any weight is updated."""

import torch

from zoo.errors import NonFiniteError


def check_finite(module, logs: dict[str, torch.Tensor], terms: tuple[str, ...],
                 inputs: torch.Tensor | None = None) -> None:
    present = [name for name in terms if name in logs]
    if torch.stack([logs[name].detach().float() for name in present]).isfinite().all():
        return  # one host sync per step; the rest runs only once training has gone wrong
    bad = ", ".join(f"{name} = {float(logs[name])}" for name in present if not torch.isfinite(logs[name]))
    where = f"at global step {module.global_step} (epoch {module.current_epoch})"
    kept = "training stopped before this step changed any weight, and the checkpoints already on disk are untouched"
    if inputs is not None and inputs.is_floating_point() and not (finite := inputs.isfinite()).all():
        raise NonFiniteError(
            f"{type(module).__name__}: the input batch {where} holds {int((~finite).sum())} NaN/Inf values of "
            f"{inputs.numel()} (hence {bad}): the data is broken, not the learning rate; check the data set and "
            f"its transforms. {kept[0].upper()}{kept[1:]}.")
    raise NonFiniteError(
        f"{type(module).__name__}: non-finite {bad} {where}; {kept}. "
        f"Resume from last.ckpt with a lower learning rate or full precision.")
