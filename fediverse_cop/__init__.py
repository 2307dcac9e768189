"""fediverse-cop: a federated server for communities of practice."""

__version__ = "0.1.0"
