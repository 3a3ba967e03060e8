"""Tests that drive the real Kivy app (apps/kivy_client) against real local services."""
