"""Sending: build, address, fan out and deliver activities."""
