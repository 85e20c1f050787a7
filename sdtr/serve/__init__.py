"""Local web app for search: :func:`create_app` (FastAPI) and the page."""
from .app import create_app

__all__ = ['create_app']
