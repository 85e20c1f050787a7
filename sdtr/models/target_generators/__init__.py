from .dalle_target_generator import DALLETargetGenerator

__all__ = ['DALLETargetGenerator']
