"""Decoding and encoding with PyAV. Nothing here knows about models or the terminal."""
