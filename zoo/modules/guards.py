"""Stop training at the first non-finite loss, naming the step and the term (or the input batch, when it is the
data that holds NaN/Inf), before that loss's optimizer step.

Each loss is checked just before its own backward pass, so the weights it would update are unchanged. A GAN's
`g_loss` is computed after the discriminator's step of the same iteration, which has then been applied."""

import torch

from zoo.errors import NonFiniteError

APPLIED_BEFORE = {"g_loss": "the discriminator's step of this iteration, taken before g_loss, was applied"}


def check_finite(module, logs: dict[str, torch.Tensor], terms: tuple[str, ...],
                 inputs: torch.Tensor | None = None) -> None:
    present = [name for name in terms if name in logs]
    if torch.stack([logs[name].detach().float() for name in present]).isfinite().all():
        return  # one host sync per step; the rest runs only once training has gone wrong
    names = [name for name in present if not torch.isfinite(logs[name])]
    bad = ", ".join(f"{name} = {float(logs[name])}" for name in names)
    where = f"at global step {module.global_step} (epoch {module.current_epoch})"
    earlier = "; ".join(APPLIED_BEFORE[name] for name in names if name in APPLIED_BEFORE)
    kept = (f"training stopped before the optimizer step of this loss, so the weights it updates are unchanged"
            f"{f' ({earlier})' if earlier else ''}, and the checkpoints already on disk are untouched")
    if inputs is not None and inputs.is_floating_point() and not (finite := inputs.isfinite()).all():
        raise NonFiniteError(
            f"{type(module).__name__}: the input batch {where} holds {int((~finite).sum())} NaN/Inf values of "
            f"{inputs.numel()} (hence {bad}): the data is broken, not the learning rate; check the data set and "
            f"its transforms. {kept[0].upper()}{kept[1:]}.")
    raise NonFiniteError(
        f"{type(module).__name__}: non-finite {bad} {where}; {kept}. "
        f"Resume from last.ckpt with a lower learning rate or full precision.")
