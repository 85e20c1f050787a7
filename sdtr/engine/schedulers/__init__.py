from .lr_simulation import simulate_lr
from .warmup_annealing_lr import WarmupAnnealingLR

__all__ = ['WarmupAnnealingLR', 'simulate_lr']
