"""In-sandbox runtime: the driver and the fork server. Standard library only."""
