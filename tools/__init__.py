"""Sextant."""
