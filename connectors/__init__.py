"""Connectors: read plant exports, map them to canonical fields, validate and load them atomically."""
