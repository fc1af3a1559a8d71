"""Errors every front end reports the same way; kept apart so that the `pagelab` command can
catch them before it has imported the machine (see docs/speed.md, start-up)."""

from __future__ import annotations


class UsageError(Exception):
    """A mistake in what the user asked for: reported in one line, exit status 2."""
