"""Staging -> core."""
