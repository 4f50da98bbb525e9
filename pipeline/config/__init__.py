"""Configuration: settings from the environment and the provider plan derived from them."""
