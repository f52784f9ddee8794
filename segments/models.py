"""Saved segments (stored condition trees) arrive with the segments issue."""
