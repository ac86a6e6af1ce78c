"""Turning the names a user types ("sgd", "relu", ...) into tinynet objects, with helpful errors."""

import difflib


def lookup(kind, identifier, table):
    """Return ``table[identifier]``, or raise a ValueError that lists the choices and the closest one.

    ``kind`` names what is looked up ("activation", "loss", ...) for the message.
    """
    if not isinstance(identifier, str):
        article = "an" if kind[0] in "aeiou" else "a"
        raise TypeError(
            f"Expected {article} {kind} name (a string such as {next(iter(table))!r}) or {article} {kind} object; "
            f"got {identifier!r} of type {type(identifier).__name__}."
        )
    key = identifier.lower()
    if key in table:
        return table[key]
    message = f"Unknown {kind} {identifier!r}. Valid names: {', '.join(sorted(table))}."
    close = difflib.get_close_matches(key, list(table), n=1, cutoff=0.5)
    if close:
        message += f" Did you mean {close[0]!r}?"
    raise ValueError(message)
