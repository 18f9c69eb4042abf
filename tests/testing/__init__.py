"""Tests of ``cave_auth.testing``, one module per module of the package."""
