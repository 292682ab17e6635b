"""Parsers turn an ALS message into a typed row for one parser's table."""
