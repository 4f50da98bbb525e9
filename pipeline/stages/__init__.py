"""The stages: the runner, the session lifecycle, transcript, insights, pattern_profile and their documents."""
