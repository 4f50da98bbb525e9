"""Speech-to-text providers: one Protocol, an offline and a cloud implementation."""

from pipeline.providers.speech_to_text.base import SpeechResult, SpeechToText

__all__ = ["SpeechResult", "SpeechToText"]
