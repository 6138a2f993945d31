"""Answerers: retrieved chunks + question -> a short answer with numbered citations."""

from .extractive import ExtractiveAnswerer
from .types import Answer, Citation, Quote, Retrieved

__all__ = ["Answer", "Citation", "ExtractiveAnswerer", "Quote", "Retrieved"]
