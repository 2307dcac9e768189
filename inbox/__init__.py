"""Receiving: authenticate, store, then process incoming activities."""
