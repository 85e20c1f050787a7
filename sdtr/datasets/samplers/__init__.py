"""Data samplers of sdtr."""
from .identity_balanced_sampler import IdentityBalancedSampler
from .seeded_sampler import SeededSampler

__all__ = ['IdentityBalancedSampler', 'SeededSampler']
