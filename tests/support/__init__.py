"""Test helpers shared across test folders (real servers, not mocks)."""
