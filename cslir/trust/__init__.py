"""Trust beyond the hash chain: the organisation's signing key and signed checkpoints.

Rank: beside notify (above engine, opsrepo and store). ``cryptography`` is imported only inside
the functions that need it, so commands that never sign or verify never load it.
"""
