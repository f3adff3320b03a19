"""Synonym sets (word -> ordered candidate list): the counter-fitted table, WordNet, any JSON table."""
