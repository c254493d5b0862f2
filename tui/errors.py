"""The one exception type for mistakes a user can fix.

Anything raised as `UserError` reaches the terminal as one line, `warroom: <message>`, and
exit code 2. Everything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input: a wrong path, a malformed file, an unknown name. Message is shown as is."""

    exit_code = 2
