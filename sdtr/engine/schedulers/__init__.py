from .lr_simulation import build_model_without_weights, simulate_lr
from .warmup_annealing_lr import WarmupAnnealingLR

__all__ = ['WarmupAnnealingLR', 'simulate_lr', 'build_model_without_weights']
