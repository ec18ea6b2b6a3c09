"""The ground floor: the contracts every stage shares, as typed values.

``config`` (the resolved configuration), ``target`` (what ``up`` stood up), ``rundir``
(the run directory and its schemas) and ``errors`` (the exception tree every package
derives from). Nothing here imports a stage or the CLI.
"""
