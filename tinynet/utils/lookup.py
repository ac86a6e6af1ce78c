"""Turning what a user names ("sgd", "relu", a function...) into tinynet objects, with helpful errors."""

import difflib

from tinynet.utils.object_registration import known_custom_objects


class UnknownNameError(ValueError):
    """:func:`lookup`'s error for a name it does not know; ``name`` is that name (``load_model``
    adds how to give it a class or function of one's own)."""

    def __init__(self, message, name):
        super().__init__(message)
        self.name = name


def lookup(kind, identifier, table, with_custom_objects=False):
    """Return ``table[identifier]``, or raise an UnknownNameError that lists the choices and the closest one.

    ``kind`` names what is looked up ("activation", "loss", ...) for the message. The table's names
    are compared in any case. ``with_custom_objects=True`` looks first, as Keras does, among the
    custom objects (spelt exactly: see :mod:`tinynet.utils.object_registration`), so that a name a
    saved model gives a class of one's own finds it.
    """
    if not isinstance(identifier, str):
        article = "an" if kind[0] in "aeiou" else "a"
        raise TypeError(
            f"Expected {article} {kind} name (a string such as {next(iter(table))!r}) or {article} {kind} object; "
            f"got {identifier!r} of type {type(identifier).__name__}."
        )
    custom = known_custom_objects() if with_custom_objects else {}
    if identifier in custom:
        return custom[identifier]
    key = identifier.lower()
    if key in table:
        return table[key]
    message = f"Unknown {kind} {identifier!r}. Valid names: {', '.join(sorted(table))}."
    names = {name.lower(): name for name in [*table, *custom]}
    # A registered name "package>name" may be close to a plain one by its name alone.
    close = [match for word in (key, key.rpartition(">")[2])
             for match in difflib.get_close_matches(word, list(names), n=1, cutoff=0.5)]
    if close:
        message += f" Did you mean {names[close[0]]!r}?"
    raise UnknownNameError(message, identifier)


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
