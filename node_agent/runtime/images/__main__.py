"""CLI: ``python -m node_agent.runtime.images build NAME|import FILE|list --root DIR``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from node_agent.runtime.images import ImageStore
from node_agent.runtime.images.build import BUILDABLE, BuildError, build
from node_agent.runtime.images.importer import ImportError_, import_tarball


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m node_agent.runtime.images")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build an image from Debian packages")
    b.add_argument("name", choices=BUILDABLE)
    b.add_argument("--root", required=True)
    i = sub.add_parser("import", help="import a `docker save` or OCI-layout tarball")
    i.add_argument("file")
    i.add_argument("--root", required=True)
    i.add_argument("--tag", action="append", default=[])
    s = sub.add_parser("list", help="list the images in the store")
    s.add_argument("--root", required=True)
    a = p.parse_args(argv)
    store = ImageStore(Path(a.root))
    try:
        if a.cmd == "build":
            img = build(store, a.name)
            print(img.id, *img.tags)
        elif a.cmd == "import":
            for img in import_tarball(store, Path(a.file), a.tag):
                print(img.id, *img.tags)
        else:
            for img in store.all():
                print(img.id[7:19], img.size, *img.tags)
    except (BuildError, ImportError_, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
