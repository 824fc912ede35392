"""Stop training at the first non-finite loss, naming the step and the term, before that loss's optimizer step.

Each loss is checked just before its own backward pass, so the weights it would update are unchanged. A GAN's
`g_loss` is computed after the discriminator's step of the same iteration, which has then been applied."""

import torch

APPLIED_BEFORE = {"g_loss": "the discriminator's step of this iteration, taken before g_loss, was applied"}


def check_finite(module, logs: dict[str, torch.Tensor], terms: tuple[str, ...]) -> None:
    present = [name for name in terms if name in logs]
    if torch.stack([logs[name].detach().float() for name in present]).isfinite().all():
        return  # one host sync per step
    bad = [name for name in present if not torch.isfinite(logs[name])]
    earlier = "; ".join(APPLIED_BEFORE[name] for name in bad if name in APPLIED_BEFORE)
    raise FloatingPointError(
        f"{type(module).__name__}: non-finite {', '.join(f'{name} = {float(logs[name])}' for name in bad)} at "
        f"global step {module.global_step} (epoch {module.current_epoch}); training stopped before the optimizer "
        f"step of this loss, so the weights it updates are unchanged{f' ({earlier})' if earlier else ''}, and the "
        f"checkpoints already on disk are untouched. Resume from last.ckpt with a lower learning rate or full "
        f"precision.")
