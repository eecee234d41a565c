"""`gate init`: reads the project it stands in and writes gate.yml, its env manifest and workflows."""
