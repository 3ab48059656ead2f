#!/usr/bin/env python3
"""Writes a registry folder in CNCF distribution's filesystem layout, as Debian's docker-registry leaves it:
REPOSITORIES repositories (`ns-<i % 100>/app-<i>`), each with TAGS tags on TAGS image manifests (one config and
two layers each, layers shared across repositories), for the catalogue and sync benchmarks. For garbage collection:
--unique-layers K adds K small layers of its own to each image, and --deleted-every N deletes every Nth image as
a delete by digest does (its tag and revision links go; its blobs and layer links stay, for GC to find).

usage: make-registry-folder.py ROOT [--repositories 10000] [--tags 10] [--unique-layers 0] [--deleted-every 0]
ROOT is the storage root (`<data>/registry`); an existing folder is left as it is."""

import argparse
import hashlib
import json
import os
import sys


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--repositories", type=int, default=10_000)
    parser.add_argument("--tags", type=int, default=10)
    parser.add_argument("--unique-layers", type=int, default=0)
    parser.add_argument("--deleted-every", type=int, default=0)
    args = parser.parse_args()
    v2 = os.path.join(args.root, "docker", "registry", "v2")
    if os.path.isdir(os.path.join(v2, "repositories")):
        print(f"{v2} exists; left as it is", file=sys.stderr)
        return 0

    def blob(data: bytes) -> str:
        d = digest(data)
        write(os.path.join(v2, "blobs", "sha256", d[7:9], d[7:], "data"), data)
        return d

    # A pool of layers shared by every repository, as base images are.
    layers = [(blob(os.urandom(4096) + bytes([i])), 4097) for i in range(50)]
    for r in range(args.repositories):
        name = f"ns-{r % 100:02d}/app-{r:05d}"
        repo = os.path.join(v2, "repositories", name)
        for t in range(args.tags):
            config = json.dumps({
                "architecture": "amd64", "os": "linux", "created": "2025-01-01T00:00:00Z",
                "config": {"Labels": {"repo": name, "tag": str(t)}}, "rootfs": {"type": "layers", "diff_ids": []},
            }).encode()
            config_digest = blob(config)
            used = [layers[(r + t) % len(layers)], layers[(r * 7 + t) % len(layers)]]
            used += [(blob(os.urandom(64)), 64) for _ in range(args.unique_layers)]
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config_digest,
                           "size": len(config)},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": d, "size": s}
                           for d, s in used],
            }, indent=3).encode()
            manifest_digest = blob(manifest)
            link = manifest_digest.encode()
            for d in [config_digest] + [d for d, _ in used]:
                write(os.path.join(repo, "_layers", "sha256", d[7:], "link"), d.encode())
            if args.deleted_every and (r * args.tags + t) % args.deleted_every == 0:
                os.makedirs(os.path.join(repo, "_manifests", "tags"), exist_ok=True)
                continue
            write(os.path.join(repo, "_manifests", "revisions", "sha256", manifest_digest[7:], "link"), link)
            tag = os.path.join(repo, "_manifests", "tags", f"v{t}")
            write(os.path.join(tag, "index", "sha256", manifest_digest[7:], "link"), link)
            write(os.path.join(tag, "current", "link"), link)
        if (r + 1) % 1000 == 0:
            print(f"{r + 1} repositories", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
