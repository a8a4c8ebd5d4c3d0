"""Delete what failed deploys of a stack kept, when it is empty (dmarc_store.leftovers).

    make clean-failed-deploy STAGE=dev REGION=us-east-1 [DRY_RUN=1]
    AWS_DEFAULT_REGION=us-east-1 .venv/bin/python scripts/clean_failed_deploy.py --stack dmarc-dev [--dry-run]

Prints one line per leftover. Exit 0 done (a leftover that holds data is kept and said so), 1 AWS
refused a request, 3 AWS not configured.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dmarc_model.errors import DmarcError  # noqa: E402
from dmarc_store.aws_clients import AwsClients  # noqa: E402
from dmarc_store.leftovers import clean, leftovers  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", default="dmarc-dev", help="the stack's name (default: dmarc-dev)")
    parser.add_argument("--dry-run", action="store_true", help="say what would be deleted; delete nothing")
    options = parser.parse_args(argv)
    clients = AwsClients()  # the stack's region: AWS_DEFAULT_REGION or the profile's
    try:
        found = leftovers(clients.client("cloudformation"), options.stack)
        if not found:
            print(f"{options.stack}: no rollback kept anything")
        for leftover in found:
            s3, dynamodb = clients.client("s3"), clients.client("dynamodb")
            print(clean(leftover, dynamodb=dynamodb, s3=s3, dry_run=options.dry_run))
    except DmarcError as error:
        print(f"clean-failed-deploy: {error}", file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
