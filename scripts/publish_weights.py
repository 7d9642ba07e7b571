"""Convert an authors' PSRT-recurrent .pth into the safetensors file vsr-cli serves, and publish it.

    python scripts/publish_weights.py PSRT_REDS.pth psrt_recurrent_reds_x4.safetensors
    python scripts/publish_weights.py PSRT_REDS.pth psrt_recurrent_reds_x4.safetensors \\
        --upload vsr-cli/psrt-recurrent --tag v1.0      # needs HF_TOKEN with write access

The converted file is checked to load and to compute exactly the same outputs
as the original; its sha256 is printed for weights.toml. vsr-cli converts a
mirror's or Drive's .pth with the same function, so the same checkpoint gives
the same sha256 whichever source it came from.
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import asdict
from pathlib import Path

import torch

from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.weights import read_checkpoint, write_safetensors


def convert(source: Path, target: Path) -> str:
    """Write ``target`` and return its sha256; raises if it computes anything different."""
    original = PSRTRecurrent.from_state_dict(read_checkpoint(source)).eval()
    write_safetensors(original, target, asdict(original.config))
    converted = PSRTRecurrent.from_state_dict(read_checkpoint(target)).eval()
    torch.manual_seed(0)
    clip = torch.rand(1, 3, 3, 64, 64)
    with torch.inference_mode():
        if not torch.equal(original(clip), converted(clip)):
            raise SystemExit("the converted file computes different outputs; not publishing")
    return hashlib.sha256(target.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the authors' .pth")
    parser.add_argument("target", type=Path, help="the .safetensors to write")
    parser.add_argument("--upload", metavar="REPO_ID", help="Hub repository to upload to")
    parser.add_argument("--tag", default="v1.0", help="tag to pin in weights.toml's revision")
    args = parser.parse_args()
    digest = convert(args.source, args.target)
    print(f'sha256 = "{digest}"')
    if args.upload:
        from huggingface_hub import HfApi

        api = HfApi()
        api.create_repo(args.upload, exist_ok=True)
        api.upload_file(
            path_or_fileobj=args.target,
            path_in_repo=args.target.name,
            repo_id=args.upload,
            commit_message=f"Add {args.target.name}",
        )
        api.create_tag(args.upload, tag=args.tag, exist_ok=True)
        print(
            f'repo_id = "{args.upload}"\nfilename = "{args.target.name}"\nrevision = "{args.tag}"'
        )


if __name__ == "__main__":
    main()
