"""The analyst views: pandas frames, their reading and writing, and their charts."""
