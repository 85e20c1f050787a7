from .cmpm_loss import CMPMLoss
from .id_loss import IDLoss
from .infonce_loss import InfoNCELoss
from .sdm_loss import SDMLoss

__all__ = ['InfoNCELoss', 'SDMLoss', 'CMPMLoss', 'IDLoss']
from .affiliation_loss import AffiliationLoss  # noqa: E402
from .vse_triplet_loss import VSETripletLoss  # noqa: E402

__all__ += ['AffiliationLoss', 'VSETripletLoss']
from .identity_triplet_loss import IdentityTripletLoss  # noqa: E402
from .isgvfc_loss import ISGVFCLoss  # noqa: E402
from .visual_id_loss import VisualIDLoss  # noqa: E402

__all__ += ['ISGVFCLoss', 'IdentityTripletLoss', 'VisualIDLoss']
