from .hard_belief import HardBelief  # noqa: F401
from .soft_belief import SoftBelief  # noqa: F401
from .importance_factor import ImportanceFactor  # noqa: F401
from .key_local_selector import KeyLocalSelector  # noqa: F401
