"""Data samplers of sdtr."""
from .identity_balanced_sampler import IdentityBalancedSampler

__all__ = ['IdentityBalancedSampler']
