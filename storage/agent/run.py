"""`python -m storage.agent --key-dir DIR --socket PATH`: the key agent without Flask.

`flask --app wsgi vault agent` runs the same server with paths from the settings; this entry
point needs only the key directory, so the agent can run on another host or user.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from storage.agent.core import DEFAULT_SHARE_TTL, Vault
from storage.agent.server import AgentServer, serve_forever


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m storage.agent")
    parser.add_argument("--key-dir", required=True, type=Path)
    parser.add_argument("--socket", required=True, type=Path)
    parser.add_argument("--share-ttl", type=float, default=DEFAULT_SHARE_TTL)
    parser.add_argument("--allow-uid", type=int, action="append", default=[],
                        help="another uid that may call (the service user's is always allowed)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    vault = Vault(args.key_dir, share_ttl=args.share_ttl)
    try:
        server = AgentServer(args.socket, vault, allowed_uids={os.getuid(), *args.allow_uid})
    except (OSError, RuntimeError) as e:
        print(f"key agent: {e}", file=sys.stderr)
        return 1
    print(f"key agent listening on {args.socket} (sealed)", file=sys.stderr, flush=True)
    serve_forever(server)
    return 0

