"""The project's exception for refused input.

:class:`SdtrError` is raised where sdtr refuses what it was given (a stale
or damaged index, a gallery of another model, ``--add`` onto another
model's index, non-finite features): its message names the file or entry,
what was expected and what to do.  Command-line tools print it as one line
instead of a traceback.
"""


class SdtrError(Exception):
    """Input that sdtr refuses, with a message that says what to do."""
