from .cmpm_loss import CMPMLoss
from .id_loss import IDLoss
from .infonce_loss import InfoNCELoss
from .sdm_loss import SDMLoss

__all__ = ['InfoNCELoss', 'SDMLoss', 'CMPMLoss', 'IDLoss']
