"""Configuration: settings from environment variables, read at run time (never at import)."""
