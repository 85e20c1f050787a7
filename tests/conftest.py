"""Test-wide settings: no network, isolated caches, a fixed thread count."""
import os
import tempfile
from pathlib import Path

import pytest

# Tests must never touch the network (HF hub, torch hub).
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
# Synthetic datasets are generated once per test session in a private cache.
os.environ.setdefault('SDTR_CACHE',
                      tempfile.mkdtemp(prefix='sdtr-test-cache-'))

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / 'shared' / 'data'


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def shared_data():
    """Real public annotation files beside the checkout (skip if absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f'real annotation fixtures not found at {SHARED_DATA}')
    return SHARED_DATA
