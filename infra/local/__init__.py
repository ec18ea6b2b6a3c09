"""A faithful local Lambda: Function URL front end, Runtime API, real environments.

See :class:`infra.local.stack.LocalLambda`.
"""
