"""Exact text rules per platform (placeholder until the engine lands)."""
