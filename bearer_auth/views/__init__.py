"""HTTP views: each parses the request, calls one service, renders the result."""
