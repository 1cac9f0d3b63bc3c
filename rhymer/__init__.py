"""rhymer: rhyming couplets in the style of your corpus, written backwards by a character LSTM."""

__version__ = "0.1.0"
