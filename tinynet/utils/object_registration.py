"""Custom objects: the classes and functions of your own that a saved model names.

``model.save`` writes every layer class, activation, loss, metric and initializer as a name, and
``load_model`` makes the object again from it. tinynet's own are found by their names
(``"Dense"``, ``"relu"``); one of your own is saved, as Keras 3 saves it, under the name
:func:`get_registered_name` gives it, and found again, spelt exactly, in one of two ways:

- given at load time, under its class's or function's name::

      load_model("model.npz", custom_objects={"MyLayer": MyLayer})
      with custom_object_scope({"MyLayer": MyLayer}):  # the same, for all that the block loads
          model = load_model("model.npz")

- registered once, where it is defined, under ``"package>name"`` (``"Custom>MyLayer"``), which is
  then the name it is saved under, so that a program that imports the definition loads it with no
  more ado::

      @register_keras_serializable()
      class MyLayer(Layer): ...

The names are Keras 3's (``tinynet.saving.register_keras_serializable``,
``tinynet.utils.custom_object_scope``...); :func:`tinynet.utils.lookup.lookup` consults them.
"""

import inspect

_REGISTERED = {}  # "package>name": the object (get_custom_objects gives this very dict)
_REGISTERED_NAMES = {}  # the object: "package>name"
_scope = {}  # what the custom_object_scopes open now make known, by name


def register_keras_serializable(package="Custom", name=None):
    """A decorator that registers a class or function under ``"package>name"`` (``name`` is its
    ``__name__`` unless given): ``model.save`` then writes that name, and ``load_model`` finds it
    with no ``custom_objects``. Registering another object under the same name replaces the first
    (as when a notebook cell runs again).

    Keras refuses to register a class without ``get_config``; tinynet's activation classes have
    none (they take no arguments), so it does not. ``model.save`` checks each object it writes.
    """
    if not isinstance(package, str) or not (name is None or isinstance(name, str)):
        raise TypeError(
            "register_keras_serializable takes a package name and a name (both strings, both optional) "
            "and is written with parentheses: @register_keras_serializable() or "
            f"@register_keras_serializable(package='my_package'); got package={package!r}, name={name!r}."
        )

    def decorator(obj):
        registered_name = f"{package}>{obj.__name__ if name is None else name}"
        _REGISTERED[registered_name] = obj
        _REGISTERED_NAMES[obj] = registered_name
        return obj

    return decorator


def get_custom_objects():
    """The live dict of the registered objects, by registered name: what is added to it is found
    as if registered (``get_custom_objects()["MyLayer"] = MyLayer``), as in Keras."""
    return _REGISTERED


def get_registered_name(obj):
    """The name ``model.save`` writes for ``obj``, a class or function: the one it was registered
    under, else its ``__name__``."""
    if obj in _REGISTERED_NAMES:
        return _REGISTERED_NAMES[obj]
    return obj.__name__


def get_registered_object(name):
    """The class or function ``name`` stands for among the custom objects, or None: first those
    of the open custom_object_scopes (``load_model``'s ``custom_objects`` among them, the innermost
    first), then the registered ones.

    Keras 3 looks among the registered objects first; tinynet lets what is given nearest to the
    call win, so that ``custom_objects`` can stand in for a registered object of the same name.
    """
    return known_custom_objects().get(name)


def known_custom_objects():
    """Every custom object :func:`get_registered_object` can find, by name."""
    return {**_REGISTERED, **_scope}


class CustomObjectScope:
    """``with custom_object_scope({"MyLayer": MyLayer}):`` makes those objects known by those names
    inside the block, to ``load_model``, ``model_from_json``, ``clone_model`` and wherever a name
    is looked up (``Dense(3, activation="MyActivation")``).

    A scope opened inside another adds its objects to the outer one's (Keras 3's replaces them).
    """

    def __init__(self, custom_objects):
        self.custom_objects = _checked(custom_objects)
        self.outer = None

    def __enter__(self):
        global _scope
        self.outer = _scope
        _scope = {**_scope, **self.custom_objects}
        return self

    def __exit__(self, *exception):
        global _scope
        _scope = self.outer


custom_object_scope = CustomObjectScope


def _checked(custom_objects):
    """``custom_objects`` (None for none) once checked to map names to classes or functions."""
    if custom_objects is None:
        return {}
    if not isinstance(custom_objects, dict) or not all(isinstance(name, str) for name in custom_objects):
        raise TypeError(
            "custom_objects must be a dict from the names a saved model uses to classes or functions, "
            f"such as {{'MyLayer': MyLayer}}; got {custom_objects!r}."
        )
    for name, obj in custom_objects.items():
        if not (inspect.isclass(obj) or inspect.isroutine(obj)):
            raise TypeError(
                f"custom_objects must map each name to a class or a function; {name!r} maps to a "
                f"{type(obj).__name__} object. Give the class itself: {{{name!r}: {type(obj).__name__}}}."
            )
    return dict(custom_objects)
