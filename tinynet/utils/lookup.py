"""Turning what a user names ("sgd", "relu", a function...) into tinynet objects, with helpful errors."""

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


def from_function(kind, function, classes_of_functions, advice):
    """A new object of the class behind one of tinynet's function forms (``tinynet.activations.relu``
    gives a ``ReLU``), found by identity, not by name: a function of one's own called ``"relu"`` is
    not tinynet's. Any other function is refused: tinynet has no automatic differentiation, so it
    cannot find the derivative the backward pass needs; ``advice`` says how to write one."""
    if function in classes_of_functions:
        return classes_of_functions[function]()
    article = "an" if kind[0] in "aeiou" else "a"
    raise TypeError(
        f"tinynet cannot use the function {getattr(function, '__name__', function)!r} as {article} {kind}: "
        f"it has no automatic differentiation, so {article} {kind} needs its derivative too. {advice}"
    )
