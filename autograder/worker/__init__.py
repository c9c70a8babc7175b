"""The sandboxed worker: its wire format, its program (server.py) and the trusted side's client."""
