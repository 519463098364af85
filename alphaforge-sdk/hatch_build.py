"""Hatch build hook: compile the native core and generate the cffi ABI-mode module.

Steps, for wheels and editable installs alike:

1. ``cargo build --release`` of ``native-c-abi`` (the cdylib ``alphaforge-native``);
2. copy the shared library into ``src/alphaforge/_native/``;
3. generate ``src/alphaforge/_native/_ffi.py`` from the committed header with cffi's
   out-of-line ABI mode, so nothing parses C at import time;
4. tag the wheel ``py3-none-<platform>``: the library has no Python ABI dependency, so one
   wheel serves every CPython 3.x.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SDK_DIR = Path(__file__).resolve().parent
NATIVE_CRATE = SDK_DIR.parent / "native-c-abi"
HEADER = NATIVE_CRATE / "include" / "alphaforge.h"
PACKAGE_NATIVE = SDK_DIR / "src" / "alphaforge" / "_native"

_INT_DEFINE = re.compile(r"^#define\s+\w+\s+\(?-?\d+\)?\s*$")


def library_filename() -> str:
    if sys.platform == "darwin":
        return "libalphaforge_native.dylib"
    if sys.platform == "win32":
        return "alphaforge_native.dll"
    return "libalphaforge_native.so"


def cdef_from_header(header_text: str) -> str:
    """Strip what cffi's cdef cannot read: every preprocessor line but integer ``#define``s."""
    kept = []
    for line in header_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and not _INT_DEFINE.match(stripped):
            continue
        kept.append(line)
    return "\n".join(kept)


def generate_ffi_module(header: Path, out: Path) -> None:
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(cdef_from_header(header.read_text(encoding="utf-8")))
    ffi.set_source("alphaforge._native._ffi", None)
    tmp = out.with_suffix(".tmp")
    ffi.emit_python_code(str(tmp))
    os.replace(tmp, out)


def install_file(source: Path, target: Path) -> None:
    """Copy to a temporary name, then rename: a process that has the old library mapped
    (a test run building a wheel, say) keeps its inode instead of seeing it rewritten."""
    tmp = target.with_name(target.name + ".tmp")
    shutil.copy2(source, tmp)
    os.replace(tmp, target)


def build_native_library() -> Path:
    if not NATIVE_CRATE.is_dir():
        raise RuntimeError(
            f"native crate not found at {NATIVE_CRATE}: build alphaforge from the AlphaForge "
            "repository (the wheel build compiles native-c-abi with cargo)"
        )
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", NATIVE_CRATE / "target"))
    cmd = ["cargo", "build", "--release", "--manifest-path", str(NATIVE_CRATE / "Cargo.toml")]
    try:
        subprocess.run(cmd, check=True, env={**os.environ, "CARGO_TARGET_DIR": str(target_dir)})
    except FileNotFoundError as exc:
        raise RuntimeError("cargo not found: install Rust (https://rustup.rs) to build") from exc
    return target_dir / "release" / library_filename()


class NativeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name not in ("wheel",):
            return
        library = build_native_library()
        PACKAGE_NATIVE.mkdir(parents=True, exist_ok=True)
        install_file(library, PACKAGE_NATIVE / library.name)
        generate_ffi_module(HEADER, PACKAGE_NATIVE / "_ffi.py")
        if version != "editable":
            build_data["pure_python"] = False
            platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
            build_data["tag"] = f"py3-none-{platform}"
