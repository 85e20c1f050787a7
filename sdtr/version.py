__version__ = '0.1.0'


def parse_version_info(version_str):
    """Parse a version string into a tuple of ints (pre-release tags kept)."""
    parts = []
    for x in version_str.split('.'):
        parts.append(int(x) if x.isdigit() else x)
    return tuple(parts)


version_info = parse_version_info(__version__)
