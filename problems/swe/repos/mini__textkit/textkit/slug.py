"""URL slugs."""

import re

_UNSAFE = re.compile(r"[^a-z0-9]")


def slugify(title):
    """Lower-case ``title`` with every run of other characters turned into one dash."""
    slug = _UNSAFE.sub("-", title.lower())
    return slug.strip("-")
