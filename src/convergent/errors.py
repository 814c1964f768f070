"""Errors a user can cause and fix: the CLI prints their message as one line and exits 2."""


class ConvergentError(Exception):
    """Base class for user-facing errors; the message names the input and the problem."""


class InputError(ConvergentError, ValueError):
    """Bad input: wrong shape, non-finite values, unreadable file, mismatched stimuli, ..."""


class SolverError(ConvergentError, RuntimeError):
    """A numerical solver did not reach its answer (e.g. a transport plan that did not converge)."""
