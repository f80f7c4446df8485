"""Providers reached over HTTP: the transport, the clients, and one module per provider."""
