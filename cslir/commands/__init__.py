"""One module per command; each only parses, calls one core function and prints."""
