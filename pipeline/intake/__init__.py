"""Intake: the upload contract, discovery of ready uploads by identity, the upload registry, batching."""
