"""HTTP endpoints other than the client API: federation (what peers GET) and web pages."""
