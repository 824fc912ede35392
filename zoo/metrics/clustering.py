"""Unsupervised clustering accuracy: the share of points whose cluster, mapped one-to-one to a label by the
matching that agrees with the labels most often (the Hungarian algorithm on the cluster-label contingency table),
is their label. InfoGAN (Chen et al. 2016, section 7.1) scores its categorical code this way on MNIST (5 % error).
"""

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat


def contingency_table(clusters: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """counts[i, j]: points in cluster i with label j (clusters and labels: non-negative integers)."""
    counts = np.zeros((clusters.max() + 1, labels.max() + 1), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    return counts


def clustering_accuracy(clusters, labels) -> float:
    """max over one-to-one maps m from clusters to labels of mean(m(cluster) == label); clusters without a label
    of their own (more clusters than labels) count as wrong."""
    clusters, labels = np.asarray(clusters, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    if clusters.shape != labels.shape or clusters.ndim != 1 or len(labels) == 0:
        raise ValueError(f"clustering_accuracy: one cluster per label, got shapes {clusters.shape} and {labels.shape}")
    counts = contingency_table(clusters, labels)
    rows, columns = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, columns].sum() / len(labels))


class ClusteringAccuracy(Metric):
    """`clustering_accuracy` over all batches (and, under DDP, all ranks): the clusters and labels are gathered,
    since the best matching is a property of the whole table."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_state("clusters", default=[], dist_reduce_fx="cat")
        self.add_state("labels", default=[], dist_reduce_fx="cat")

    def update(self, clusters: torch.Tensor, labels: torch.Tensor) -> None:
        self.clusters.append(clusters.detach().long().flatten())
        self.labels.append(labels.detach().long().flatten())

    def compute(self) -> torch.Tensor:
        clusters, labels = dim_zero_cat(self.clusters).cpu().numpy(), dim_zero_cat(self.labels).cpu().numpy()
        return torch.tensor(clustering_accuracy(clusters, labels), dtype=torch.float64)
