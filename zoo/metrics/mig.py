"""The Mutual Information Gap (Chen et al. 2018, section 5), with the histogram estimate of Locatello et al. 2019
(disentanglement_lib's `mig.py`).

Each latent (a column of the posterior means) is discretised into `bins` equal-width bins over its range; for each
factor v_k, I(z_j; v_k) is the mutual information of the discretised latent j with the factor's values (plug-in
estimate from their joint histogram, in nats), and

    MIG = (1 / K) sum_k (I(z_(1); v_k) - I(z_(2); v_k)) / H(v_k),

z_(1) and z_(2) the two latents that share the most information with v_k. Each gap lies in [0, 1]: 1 when one
latent alone captures the factor and no other latent knows anything of it, 0 when two latents share it equally.
Chen et al. estimate I(z_j; v_k) from q(z|x) rather than from histograms of its means, so figures differ.
"""

import numpy as np


def discretise(latents: np.ndarray, bins: int = 20) -> np.ndarray:
    """Bin indices (N, L) in 0 .. bins - 1 of latents (N, L), each column cut into equal-width bins over its range."""
    codes = np.empty(latents.shape, dtype=np.int64)
    for j, column in enumerate(latents.T):
        edges = np.histogram_bin_edges(column, bins)
        codes[:, j] = np.digitize(column, edges[1:-1])  # the maximum falls into the last bin
    return codes


def mutual_information_matrix(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """I(z_j; v_k) in nats, (L, K), of discrete latents (N, L) and discrete factors (N, K)."""
    from sklearn.metrics import mutual_info_score  # when used: scikit-learn loads an OpenMP runtime of its own

    return np.array([[mutual_info_score(factor, code) for factor in factors.T] for code in codes.T])


def factor_entropies(factors: np.ndarray) -> np.ndarray:
    """H(v_k) in nats, (K,), of the empirical distribution of each factor."""
    from sklearn.metrics import mutual_info_score

    return np.array([mutual_info_score(factor, factor) for factor in factors.T])


def mutual_information_gaps(latents, factors, bins: int = 20) -> np.ndarray:
    """The normalised gap (K,) of each factor, for latents (N, L), L >= 2, and discrete factor values (N, K); a factor
    that does not vary (H = 0) has no gap (NaN)."""
    latents, factors = np.asarray(latents, dtype=np.float64), np.asarray(factors)
    if latents.ndim != 2 or factors.ndim != 2 or len(latents) != len(factors) or latents.shape[1] < 2:
        raise ValueError(f"latents (N, L >= 2) and factors (N, K) of the same N, got {latents.shape} and "
                         f"{factors.shape}")
    information = mutual_information_matrix(discretise(latents, bins), factors)  # (L, K)
    top_two = np.sort(information, axis=0)[-2:]  # (2, K): second largest, largest
    entropies = factor_entropies(factors)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(entropies > 0, (top_two[1] - top_two[0]) / entropies, np.nan)


def mutual_information_gap(latents, factors, bins: int = 20) -> float:
    """MIG: the mean of the factors' normalised gaps (factors that do not vary left out)."""
    return float(np.nanmean(mutual_information_gaps(latents, factors, bins)))
