"""Precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020) of generated
features against real ones, computed by the latter's `prdc` package (clovaai/generative-evaluation-prdc).

Each feature's k-nearest-neighbour ball (radius: the distance to its k-th nearest neighbour in its own set) stands
for its set's manifold. Precision: the share of generated features inside some real ball; recall: the share of
real features inside some generated ball; density: the mean number of real balls holding a generated feature,
over k; coverage: the share of real balls whose centre's nearest generated feature is inside. Precision and
recall take k = 3 (Kynkäänniemi et al.'s choice), density and coverage k = 5 (Naeem et al.'s).
"""

import contextlib
import io

import numpy as np
import torch

PRECISION_RECALL_K = 3
DENSITY_COVERAGE_K = 5
PROTOCOL = {"precision_recall": f"Kynkaanniemi et al. 2019, k={PRECISION_RECALL_K}",
            "density_coverage": f"Naeem et al. 2020, k={DENSITY_COVERAGE_K}", "implementation": "prdc"}


def manifold_metrics(real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
    """precision, recall, density and coverage of features `fake` (M, F) against `real` (N, F)."""
    real, fake = (np.ascontiguousarray(t.detach().float().cpu().numpy()) for t in (real, fake))
    # imported here: prdc imports scikit-learn, whose own OpenMP runtime would otherwise load into every training
    # process beside torch's (zoo.distributions.samplers)
    from prdc import compute_prdc

    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the two set sizes
        precision_recall = compute_prdc(real, fake, PRECISION_RECALL_K)
        density_coverage = compute_prdc(real, fake, DENSITY_COVERAGE_K)
    return {"precision": float(precision_recall["precision"]), "recall": float(precision_recall["recall"]),
            "density": float(density_coverage["density"]), "coverage": float(density_coverage["coverage"])}
