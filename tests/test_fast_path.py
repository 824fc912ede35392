"""The training fast path (`compile: true`): same training as the eager path, and a fallback that says so."""

import warnings
from functools import partial

import lightning as L
import pytest
import torch

from zoo import VAEModule
from zoo.data import Digits
from zoo.modules.compile import CompiledOrEager, CompileFallbackWarning
from zoo.modules.vae_objective import VAEObjective
from zoo.nets import MLPDecoder, MLPEncoder


class LossCurve(L.Callback):
    def __init__(self):
        self.losses = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.losses.append(float(outputs["loss"]) if outputs else float("nan"))  # a GAN step returns nothing


def train(model, data, steps: int) -> tuple[list[float], list[warnings.WarningMessage]]:
    curve = LossCurve()
    trainer = L.Trainer(max_steps=steps, limit_val_batches=0, num_sanity_val_steps=0, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        callbacks=[curve], deterministic=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(model, data)
    return curve.losses, [w for w in caught if issubclass(w.category, CompileFallbackWarning)]


def vae(compile: bool) -> VAEModule:
    torch.manual_seed(0)
    return VAEModule(partial(MLPEncoder, hidden=[64]), partial(MLPDecoder, hidden=[64]), latent_dim=8,
                     objective=VAEObjective(kl_warmup_steps=20), compile=compile,
                     optimizer=partial(torch.optim.Adam, lr=3e-3))


def test_the_compiled_vae_trains_like_the_eager_one():
    data = Digits(binarize="dynamic", batch_size=64, val_size=100)
    torch.manual_seed(1)
    eager, _ = train(vae(compile=False), data, 60)
    torch.manual_seed(1)
    compiled, fell_back = train(vae(compile=True), Digits(binarize="dynamic", batch_size=64, val_size=100), 60)
    assert not fell_back, f"torch.compile fell back to eager, so nothing was compared: {fell_back[0].message}"
    eager, compiled = torch.tensor(eager), torch.tensor(compiled)
    # same seeds, same batches: the curves differ by float rounding only, and both learn
    assert torch.allclose(compiled, eager, rtol=2e-3, atol=0.5), (compiled - eager).abs().max()
    assert compiled[-10:].mean() < compiled[:10].mean() - 50


def test_a_function_the_compiler_cannot_take_runs_eagerly_after_one_warning():
    calls = []

    def fn(x):
        calls.append(1)
        return x + 1

    fallback = CompiledOrEager(fn, "fn")
    fallback.compiled = partial(_raise, RuntimeError("no C++ compiler"))
    with pytest.warns(CompileFallbackWarning, match="no C\\+\\+ compiler"):
        assert fallback(torch.ones(1)) == 2
    assert fallback.fell_back
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning
        assert fallback(torch.ones(1)) == 2
    assert len(calls) == 2


def _raise(error, *args, **kwargs):
    raise error


@pytest.mark.parametrize("bound", ["elbo", "iwae"])
def test_the_compiled_training_step_is_one_graph(bound):
    """A graph break splits the step into graphs that each keep their activations and run their own backward, with
    Python between them: the fast path must trace VAEModule.step whole (torch.distributions' KL registry did not)."""
    model = VAEModule(partial(MLPEncoder, hidden=[16]), partial(MLPDecoder, hidden=[16]), latent_dim=4,
                      objective=VAEObjective(bound=bound, num_samples=1 if bound == "elbo" else 3))
    batch = ((torch.rand(8, 1, 28, 28) > 0.5).float(), torch.zeros(8, dtype=torch.long))
    torch._dynamo.reset()
    explained = torch._dynamo.explain(model.step)(batch, torch.tensor(1.0), torch.tensor(0.0))
    assert explained.graph_break_count == 0, [reason.reason.splitlines()[0] for reason in explained.break_reasons]
