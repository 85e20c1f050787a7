"""Command-line tools that live in the package, so that the ``sdtr`` command
works from any install; ``tools/*.py`` of the repository call them."""
