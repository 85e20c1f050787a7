from .pae_cross_attention_layer import PAECrossAttentionLayer  # noqa: F401
from .pae_self_attention_layer import PAESelfAttentionLayer  # noqa: F401
from .spatial_pae import SpatialPAE  # noqa: F401
from .temporal_pae import TemporalPAE  # noqa: F401
from .klsf_fusion import KLSFFusion  # noqa: F401
from .transformer_encoder_neck import TransformerEncoderNeck  # noqa: F401
