"""Landing zone -> staging."""
