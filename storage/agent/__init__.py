"""The key agent: the one process that holds the unsealed vault private keys.

Web and worker processes send it a sealed data key and its blob id over a UNIX socket and get
back that one data key (``client.AgentProvider``); they never see a private key. The state
machine (sealed, shares pending, unsealed) is ``core.Vault``; the wire format is
``protocol`` (docs/formats.md, "Key agent protocol"); ``server`` checks every caller's uid.
"""
