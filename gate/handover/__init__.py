"""`gate handover`: the one page a founder hands to whoever runs the app next."""
