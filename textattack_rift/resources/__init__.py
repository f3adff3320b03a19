"""Offline bootstrapping: cache paths, NLTK data, network probing, bundled models, the doctor.

Imports nothing heavy; knows no other part of the package.
"""

from textattack_rift.resources.nltk_data import bootstrap as bootstrap_nltk

__all__ = ["bootstrap_nltk"]
