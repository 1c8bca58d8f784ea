"""Piko Orchestra: one live inbox for every Claude Code agent that waits for a person."""

__version__ = "0.1.0"
