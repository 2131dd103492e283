"""The one exception type for problems a user can cause (bad input, missing warehouse, ...).

The CLI prints its message as a single line and exits non-zero; messages say what and where.
"""


class RetailTiersError(Exception):
    """A problem the user can fix; `str(error)` is a complete one-line explanation."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
