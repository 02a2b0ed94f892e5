"""allos-ray: the Allos batch backend ``ray`` (``allos batch --backend ray [--address ADDR]``).

Importing this module is cheap: it does not import ``ray``. Ray is imported when a batch starts
on this backend (see :class:`~allos_ray.backend.RayBackend`).
"""

from allos_core.hookspecs import hookimpl

__version__ = "0.1.0"


@hookimpl
def allos_batch_backends():
    """Offer the ``ray`` batch backend."""
    from allos_ray.backend import RayBackend

    return [RayBackend]
