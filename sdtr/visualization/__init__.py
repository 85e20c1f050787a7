"""Pictures: ranked search results (PIR Fig. 7 layout)."""
from .search_grid import draw_search_results, fit_tile

__all__ = ['draw_search_results', 'fit_tile']
