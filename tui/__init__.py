"""rhymer's Textual app: `rhymer tui` in a terminal, `rhymer serve` in a browser."""
