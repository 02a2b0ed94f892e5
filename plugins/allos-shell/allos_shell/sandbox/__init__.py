"""The OS sandbox of ``shell_exec``: Landlock on Linux, a child subreaper, a guard on the agent's
configuration.

- :mod:`~allos_shell.sandbox.landlock`: the kernel interface (ctypes, standard library only);
- :mod:`~allos_shell.sandbox.mounts`: read-only bind mounts over the agent's configuration;
- :mod:`~allos_shell.sandbox.launcher`: runs one command confined and stops everything it started;
- :mod:`~allos_shell.sandbox.policy`: the ``[sandbox]`` settings and what is enforced here;
- :mod:`~allos_shell.sandbox.guard`: puts back the protected files if a command changed them;
- :mod:`~allos_shell.sandbox.cli`: ``allos sandbox status``.

See docs/sandbox.md for the whole boundary, and what it does not cover.
"""
