"""The one exception type that carries a user-facing sentence."""


class RhymerError(Exception):
    """An error the user caused and can fix; its message is one clear sentence."""
