"""Errors that speak to the user, shared by both halves: what was wrong, the value seen, what to do."""

from __future__ import annotations


class InputError(ValueError):
    """Input the model cannot take (a sentence, a series); the message says what to change."""
