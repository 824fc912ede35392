"""torch.hub entry points: `torch.hub.load("<owner>/zoo", "vae_mlp.mnist")` returns the pretrained module
(in eval mode), for every entry of the zoo's registry that has published weights."""

from functools import partial

from zoo.hub.registry import list_models, load_pretrained

dependencies = ["torch", "lightning", "torchvision", "torchmetrics", "safetensors", "yaml"]

for _name in list_models(pretrained=True):
    globals()[_name] = partial(load_pretrained, _name)
