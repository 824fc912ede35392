"""A small causal transformer over a flattened grid of discrete codes: the VQ-VAE's learned prior
p(c) = prod_t p(c_t | c_<t), in raster order (van den Oord et al. 2017 use a PixelCNN; any autoregressive model
over the grid will do, and a decoder-only transformer as in VQGAN, Esser et al. 2021, is the plainer one).

The input at position t is a start token (t = 0) or code c_{t-1}, plus a learned position embedding; pre-norm
transformer layers with a causal mask let position t attend to positions <= t only, so its logits depend on
c_<t alone.
"""

import torch
from torch import nn
from torch.nn import functional as F


class CodeTransformer(nn.Module):
    """codes (B, L) -> logits (B, L, K) of p(c_t | c_<t), for the first L <= T positions of the grid (T = `length`).
    Built as `CodeTransformer(num_codes, length)`. Dropout is off by default: on one CPU thread it costs a quarter of
    the step, and a small prior trained for a few epochs does not overfit MNIST's codes.

    Args:
        num_codes: K, the codebook's size.
        length: T, the code grid's positions.
        dim: the model width.
        layers: the transformer layers (pre-norm, GELU, feed-forward 4 * dim).
        heads: the attention heads.
        dropout: the transformer's dropout.
    """

    def __init__(self, num_codes: int, length: int, dim: int = 64, layers: int = 3, heads: int = 4,
                 dropout: float = 0.0):
        super().__init__()
        self.num_codes, self.length = num_codes, length
        self.token = nn.Embedding(num_codes + 1, dim)  # the codes, and a start token (index K)
        self.position = nn.Parameter(torch.zeros(length, dim))
        nn.init.normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_codes)
        self.register_buffer("causal_mask", nn.Transformer.generate_square_subsequent_mask(length), persistent=False)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        length = codes.shape[1]
        start = torch.full_like(codes[:, :1], self.num_codes)
        inputs = torch.cat([start, codes[:, :-1]], 1)  # (B, L): position t sees c_{t-1}
        h = self.token(inputs) + self.position[:length]  # (B, L, dim)
        h = self.transformer(h, mask=self.causal_mask[:length, :length], is_causal=True)
        return self.head(self.norm(h))  # (B, L, K)

    def log_prob(self, codes: torch.Tensor) -> torch.Tensor:
        """log p(c) in nats, summed over the T positions: (B,)."""
        logits = self(codes)
        return -F.cross_entropy(logits.transpose(1, 2), codes, reduction="none").sum(1)

    @torch.no_grad()
    def sample(self, uniforms: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Codes (n, T) drawn position by position, c_t = F_t^-1(u_t) by inversion of the CDF of
        p(c_t | c_<t)^(1/temperature) (normalised), from uniforms u (n, T) in [0, 1): the same u, the same codes.
        Each position runs the layers on its one new token, its attention reading the normalised inputs kept from
        the earlier positions (the logits `forward` gives, at T passes of one token instead of T passes of up to T)."""
        n, dim = uniforms.shape[0], self.position.shape[1]
        codes = torch.zeros(uniforms.shape, dtype=torch.long, device=uniforms.device)
        layers = self.transformer.layers
        kept = [self.position.new_zeros(n, self.length, dim) for _ in layers]  # each layer's norm1(h), by position
        token = torch.full((n,), self.num_codes, dtype=torch.long, device=uniforms.device)  # the start token
        for t in range(self.length):
            h = (self.token(token) + self.position[t])[:, None]  # (n, 1, dim)
            for layer, inputs in zip(layers, kept, strict=True):  # the pre-norm layer's forward, for position t
                inputs[:, t] = layer.norm1(h[:, 0])
                earlier = inputs[:, : t + 1]
                h = h + layer.dropout1(layer.self_attn(inputs[:, t: t + 1], earlier, earlier, need_weights=False)[0])
                h = h + layer._ff_block(layer.norm2(h))
            logits = self.head(self.norm(h))[:, 0].float()  # (n, K)
            cdf = F.softmax(logits / temperature, dim=-1).cumsum(-1)
            chosen = torch.searchsorted(cdf, uniforms[:, t: t + 1].float().contiguous(), right=True)
            codes[:, t] = token = chosen.squeeze(1).clamp(max=self.num_codes - 1)  # u above a rounded-down cdf[-1]
        return codes
