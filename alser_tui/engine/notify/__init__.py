"""Alarm delivery: lifecycle, routing, a durable outbox and one module per channel.

Everything here subscribes to engine events; nothing imports Textual.
"""
