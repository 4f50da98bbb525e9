"""The offline, rule-based analyzer: detectors over words and sentences, one module per family."""
