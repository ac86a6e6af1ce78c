"""BatchNormalization: each feature brought to mean 0 and variance 1 over the batch, then scaled
and shifted by two weights the layer learns."""

import numbers

from tinynet import backend, constraints, initializers, regularizers
from tinynet.layers.base import Layer, weight_configs


class BatchNormalization(Layer):
    """Normalises each feature over the batch: ``y = gamma * x_hat + beta`` (Ioffe and Szegedy, 2015).

    A feature is one index along ``axis``: by default the last axis, a Dense layer's units or a
    convolution's channels. Over the ``m`` numbers of one feature in the batch (every sample's,
    and for images every position's too)::

        mu = (1/m) sum x                      the batch mean
        var = (1/m) sum (x - mu)^2            the batch variance (divided by m, as Keras does)
        x_hat = (x - mu) / sqrt(var + epsilon)
        y = gamma * x_hat + beta

    ``gamma`` (scale, starts at 1) and ``beta`` (center, starts at 0) are learned, one per feature,
    so the layer can undo the normalisation where that helps the loss.

    While training, the layer also keeps running averages of the batch statistics, for later:
    ``moving_mean <- momentum * moving_mean + (1 - momentum) * mu``, and the same for
    ``moving_variance`` with ``var``. ``evaluate`` and ``predict`` normalise with those averages
    instead of the batch's, so a sample's prediction does not depend on the other samples in its
    batch. They are not learned by gradient descent: they are the layer's ``states``, and
    ``summary`` counts them as non-trainable parameters. A layer with ``trainable=False``
    normalises with its averages while training too, and leaves them as they are (as in Keras).

    Backward, with ``g = dL/dy`` and the sums over the ``m`` numbers of a feature:

    * ``dL/dbeta = sum g`` and ``dL/dgamma = sum g x_hat``.
    * With the averages (inference), ``mu`` and ``var`` are constants: ``dL/dx = g gamma s``, where
      ``s = 1 / sqrt(var + epsilon)``.
    * With the batch's statistics, every ``x_hat_k`` of the feature depends on every ``x_i``
      through ``mu`` and ``var``. From ``dmu/dx_i = 1/m`` and ``dvar/dx_i = 2 (x_i - mu) / m``
      (the term through ``mu`` sums ``x_k - mu`` to 0), and ``ds/dvar = -s^3 / 2``::

          dx_hat_k/dx_i = s (delta_ki - 1/m) - (x_k - mu) s^3 (x_i - mu) / m
                        = s (delta_ki - 1/m - x_hat_k x_hat_i / m)

      so, summing ``gamma g_k`` against it::

          dL/dx_i = gamma s (g_i - (1/m) sum g - x_hat_i (1/m) sum g x_hat)
                  = gamma s (g_i - dL/dbeta / m - x_hat_i dL/dgamma / m)

      The gradient has no part along the batch mean or along ``x_hat``: normalising removes them.
    """

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"BatchNormalization axis must be an integer, such as -1; got {axis!r}.")
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalization momentum must be a number in [0, 1]; got {momentum!r}.")
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon > 0:
            raise ValueError(f"BatchNormalization epsilon must be a positive number; got {epsilon!r}.")
        for name, value in (("center", center), ("scale", scale)):
            if not isinstance(value, bool):
                raise TypeError(f"BatchNormalization {name} must be True or False; got {value!r}.")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        super().__init__(**kwargs)

    def get_config(self):
        return {
            **super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale, **weight_configs(self, ("beta", "gamma")),
            **{role: initializers.serialize(getattr(self, role))
               for role in ("moving_mean_initializer", "moving_variance_initializer")},
        }

    def compute_output_shape(self, input_shape):
        rank = len(input_shape)
        if not (-rank <= self.axis < rank) or self.axis % rank == 0:
            choices = "1 or -1" if rank == 2 else f"from 1 to {rank - 1}, or -1 for the last"
            raise ValueError(
                f"BatchNormalization layer {self.name!r} normalises along axis {self.axis}, which its "
                f"input of shape {tuple(input_shape)} does not have apart from the batch axis: use an "
                f"axis {choices}."
            )
        return tuple(input_shape)

    def check_input(self, input_shape):
        """Raise unless inputs of ``input_shape`` have the rank and the number of features this
        built layer has weights for (the other axes may change)."""
        self.compute_output_shape(input_shape)
        axis = self.axis % len(self.input_shape)
        if len(input_shape) != len(self.input_shape) or input_shape[axis] != self.input_shape[axis]:
            raise ValueError(
                f"Layer {self.name!r} was built for inputs of shape {self.input_shape}, {self.input_shape[axis]} "
                f"features along axis {self.axis}; got shape {tuple(input_shape)}."
            )

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # checks the axis before any weight exists
        axis = self.axis % len(input_shape)
        features = (input_shape[axis],)
        # The axes each feature's statistics run over, and the shape that lines a (features,)
        # vector up with them for broadcasting: (1, 1, 1, channels) for images, axis=-1.
        self.reduction_axes = tuple(a for a in range(len(input_shape)) if a != axis)
        self.broadcast_shape = tuple(length if a == axis else 1 for a, length in enumerate(input_shape))
        self.gamma = (self.add_weight(features, self.gamma_initializer, regularizer=self.gamma_regularizer,
                                      constraint=self.gamma_constraint) if self.scale else None)
        self.beta = (self.add_weight(features, self.beta_initializer, regularizer=self.beta_regularizer,
                                     constraint=self.beta_constraint) if self.center else None)
        self.moving_mean = self.add_weight(features, self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight(features, self.moving_variance_initializer, trainable=False)
        super().build(input_shape)

    def _lined_up(self, vector):
        """A ``(features,)`` vector reshaped to broadcast against the input."""
        return backend.namespace().reshape(vector, self.broadcast_shape)

    def forward(self, x, training=False):
        xp = backend.namespace()
        self.uses_batch_statistics = training and self.trainable
        if self.uses_batch_statistics:
            mean = xp.mean(x, axis=self.reduction_axes, keepdims=True)
            centered = x - mean
            variance = xp.mean(centered * centered, axis=self.reduction_axes, keepdims=True)
            self._update_moving_averages(mean, variance)
        else:
            centered = x - self._lined_up(self.moving_mean)
            variance = self._lined_up(self.moving_variance)
        self.inverse_std = 1.0 / xp.sqrt(variance + self.epsilon)  # s, kept for backward
        self.x_hat = centered * self.inverse_std
        y = self.x_hat * self._lined_up(self.gamma) if self.scale else self.x_hat
        return y + self._lined_up(self.beta) if self.center else y

    def _update_moving_averages(self, mean, variance):
        """``average <- momentum * average + (1 - momentum) * batch value``, in place."""
        xp = backend.namespace()
        for average, batch_value in ((self.moving_mean, mean), (self.moving_variance, variance)):
            batch_value = xp.reshape(batch_value, average.shape)
            average[...] = average * self.momentum + batch_value * (1.0 - self.momentum)

    def backward(self, grad_output):
        xp = backend.namespace()
        g = grad_output
        grad_beta = xp.sum(g, axis=self.reduction_axes, keepdims=True)
        grad_gamma = xp.sum(g * self.x_hat, axis=self.reduction_axes, keepdims=True)
        self.grads = [xp.reshape(grad, (-1,)) for grad, kept in ((grad_gamma, self.scale), (grad_beta, self.center))
                      if kept]
        if not self.input_gradient_needed:
            return None
        scale = self.inverse_std * self._lined_up(self.gamma) if self.scale else self.inverse_std
        if not self.uses_batch_statistics:
            return g * scale
        m = g.size // grad_beta.size  # the numbers per feature
        return scale * (g - grad_beta / m - self.x_hat * (grad_gamma / m))
