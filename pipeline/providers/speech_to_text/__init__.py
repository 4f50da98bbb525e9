"""Speech-to-text providers: one Protocol, an offline and a cloud implementation."""

from pipeline.providers.memo import ChunkCache
from pipeline.providers.speech_to_text.base import SpeechResult, SpeechToText, transcribe_audio

__all__ = ["ChunkCache", "SpeechResult", "SpeechToText", "transcribe_audio"]
