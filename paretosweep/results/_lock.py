"""One driver per run directory: a lease naming its holder, held for the driver's life.

The lease is ``.paretosweep.lease`` in the run directory, a JSON object: ``host``, ``pid``,
``started_at`` and ``heartbeat_at`` (epoch seconds), ``expires_at``, ``token`` (the holder's
random id) and ``storage``. How it is held depends on the filesystem:

* a local directory (a path or a ``file://`` URI): the driver holds an ``fcntl.flock`` on the
  lease file from start to exit. The kernel drops the lock when the process ends, however it ends
  (a SIGKILL included), so a lease file whose lock can be taken is stale by definition. A
  heartbeat thread rewrites the JSON every ``heartbeat`` seconds, for people (and hosts sharing
  the directory) to read.
* any other pyarrow filesystem (``s3://``, ``gs://``...): no locks exist there; the lease object
  carries ``expires_at`` (``ttl`` seconds ahead) and a heartbeat thread renews it every
  ``heartbeat`` seconds. A lease is stale once it expired, or at once when its holder was a
  process of this host that no longer runs. Object stores offer no compare-and-swap through
  pyarrow: two drivers starting within the same moment can both write a lease; the later write
  wins, the other driver sees it at its check read and is refused (best effort, documented).

A stale lease is taken over with a warning naming the driver that left it; a live one refuses
the new driver with :class:`RunLockedError`, naming the holder and the fix. Release removes the
lease (and a run directory that acquiring created and that stayed empty).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from types import TracebackType

import pyarrow as pa
import pyarrow.fs as pafs

from paretosweep._redact import redact, storage_error
from paretosweep.errors import RunDirectoryError
from paretosweep.results._fs import join, resolve
from paretosweep.results._processes import descendants, end_processes

logger = logging.getLogger(__name__)

LEASE_FILE = ".paretosweep.lease"
#: Seconds a lease on a non-local filesystem stays valid without a heartbeat.
DEFAULT_TTL = 60.0
#: Environment variables that override ``ttl`` and the heartbeat interval (seconds).
TTL_ENV, HEARTBEAT_ENV = "PARETOSWEEP_LEASE_TTL", "PARETOSWEEP_LEASE_HEARTBEAT"


class RunLockedError(RunDirectoryError):
    """Another live driver holds the run directory."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a lease."""

    host: str
    pid: int
    started_at: float
    heartbeat_at: float
    expires_at: float
    token: str
    storage: str = ""
    #: (pid, create time) of the processes the driver had started, at its last heartbeat (its local Ray's)
    children: tuple[tuple[int, float], ...] = ()

    def describe(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        started = datetime.fromtimestamp(self.started_at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"pid {self.pid} on host {self.host}, started {started}, last heartbeat {max(0.0, now - self.heartbeat_at):.0f} s ago"

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Holder | None:
        """The holder a lease file names (None: empty or unreadable, e.g. a write cut short)."""
        try:
            raw = json.loads(data.decode())
            return cls(
                host=str(raw["host"]),
                pid=int(raw["pid"]),
                started_at=float(raw["started_at"]),
                heartbeat_at=float(raw["heartbeat_at"]),
                expires_at=float(raw["expires_at"]),
                token=str(raw["token"]),
                storage=str(raw.get("storage", "")),
                children=tuple((int(p), float(c)) for p, c in raw.get("children", ())),
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None


def process_alive(pid: int, started_at: float) -> bool:
    """Whether ``pid`` on this host is still the process that took a lease at ``started_at``."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ray
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.create_time() <= started_at + 1.0
    except psutil.Error:
        return False


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


class RunLease:
    """The lease of one run directory (see the module docstring); a context manager.

    Args:
        run_dir: local directory or pyarrow filesystem URI.
        filesystem: a pyarrow filesystem that ``run_dir`` lives on (skips URI parsing).
        ttl: seconds a non-local lease stays valid without a heartbeat.
        heartbeat: seconds between heartbeats (default ``ttl / 4``, at most 10 s).
    """

    def __init__(
        self, run_dir: str, *, filesystem: pafs.FileSystem | None = None, ttl: float | None = None, heartbeat: float | None = None
    ) -> None:
        self.run_dir = run_dir
        #: ``run_dir`` as messages, logs and the lease file name it (credentials masked)
        self.shown = redact(run_dir)
        self._fs, self._root = resolve(run_dir, filesystem)
        self._local = isinstance(self._fs, pafs.LocalFileSystem)
        self._path = join(self._fs, self._root, LEASE_FILE)
        self.ttl = ttl if ttl is not None else _env_float(TTL_ENV, DEFAULT_TTL)
        self.heartbeat = heartbeat if heartbeat is not None else _env_float(HEARTBEAT_ENV, min(10.0, self.ttl / 4))
        self._fd: int | None = None
        self._holder: Holder | None = None
        self._created_dir = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()
        #: the lease was taken by another driver while this one held it (non-local filesystems only)
        self.lost = False

    @property
    def held(self) -> bool:
        return self._holder is not None

    # -- checks ------------------------------------------------------------------------
    def check(self) -> Holder | None:
        """Refuse a run directory held by a live driver; changes nothing but a stale, lone lease file.

        Returns the stale holder found (None: no lease). A stale lease in a directory that holds
        nothing else is removed, so the directory counts as empty for the run-directory checks.

        Raises:
            RunLockedError: a live driver holds the directory.
        """
        if self._local:
            return self._check_local()
        try:
            holder = self._read_remote()
        except (OSError, pa.ArrowException):
            return None  # storage that cannot be read: the run-directory checks that follow say why
        if holder is not None and self._live_remote(holder):
            raise self._refusal(holder)
        if holder is not None and self._only_lease():
            with contextlib.suppress(OSError, pa.ArrowException):
                self._fs.delete_file(self._path)
        return holder

    def _check_local(self) -> Holder | None:
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_CLOEXEC)
        except OSError:  # no lease (or no directory, or not a readable one: the run-directory checks say why)
            return None
        try:
            if not _try_flock(fd):
                raise self._refusal(_read_fd(fd))
            holder = _read_fd(fd)
            if self._only_lease():
                with contextlib.suppress(OSError):
                    os.unlink(self._path)  # under the lock: a driver that opened it meanwhile sees another inode
            return holder
        finally:
            os.close(fd)

    # -- acquire and release -----------------------------------------------------------
    def acquire(self) -> Holder | None:
        """Take the lease and start its heartbeat; returns the stale holder taken over (None: none).

        Raises:
            RunLockedError: a live driver holds the directory.
            RunDirectoryError: the storage failed (unreachable, access refused): the message names it, redacted, and the fix.
        """
        if self.held:
            return None
        try:
            stale = self._acquire_local() if self._local else self._acquire_remote()
        except RunDirectoryError:  # a refusal, said already (RunDirectoryError is an OSError too)
            raise
        except (OSError, pa.ArrowException) as error:
            raise storage_error(self.run_dir, error, action="take the run's lease on") from None
        if stale is not None:
            logger.warning("Took over run directory `%s` from a driver that is gone (%s).", self.shown, stale.describe())
            if stale.host == socket.gethostname() and stale.children:
                ended = end_processes(stale.children)
                if ended:
                    logger.warning("Ended %d process(es) the gone driver had started and left running: %s.", len(ended), ", ".join(ended))
        self._thread = threading.Thread(target=self._beat, name="paretosweep-lease-heartbeat", daemon=True)
        self._stop.clear()
        self._thread.start()
        return stale

    def _new_holder(self) -> Holder:
        now = time.time()
        return Holder(
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=now,
            heartbeat_at=now,
            expires_at=now + self.ttl,
            token=uuid.uuid4().hex,
            storage=self.shown,
        )

    def _acquire_local(self) -> Holder | None:
        self._created_dir = not os.path.isdir(self._root)
        os.makedirs(self._root, exist_ok=True)
        for _ in range(10):
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            if not _try_flock(fd):
                holder = _read_fd(fd)
                os.close(fd)
                raise self._refusal(holder)
            try:
                same = os.stat(self._path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the file was removed by its releasing holder after we opened it: open the new one
                os.close(fd)
                continue
            stale = _read_fd(fd)
            self._fd = fd
            self._holder = self._new_holder()
            self._write_local(self._holder)
            return stale
        raise RunDirectoryError(f"Cannot take the lease of `{self.shown}`: its lease file keeps changing. Try again.")

    def _acquire_remote(self) -> Holder | None:
        found = self._read_remote()
        if found is not None and self._live_remote(found):
            raise self._refusal(found)
        with contextlib.suppress(OSError, pa.ArrowException):  # object stores have no directories; the write says what is wrong
            self._fs.create_dir(self._root, recursive=True)
        holder = self._new_holder()
        self._write_remote(holder)
        time.sleep(min(0.5, self.heartbeat / 4))  # let a concurrent writer's lease land before checking ours
        check = self._read_remote()
        if check is None or check.token != holder.token:
            raise (
                self._refusal(check)
                if check is not None
                else RunDirectoryError(f"Cannot take the lease of `{self.shown}`: it vanished while being written. Try again.")
            )
        self._holder = holder
        return found

    def release(self) -> None:
        """Stop the heartbeat and remove the lease (and a directory acquiring created that stayed empty)."""
        if not self.held:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._write_lock:
            holder, self._holder = self._holder, None
            if self._local and self._fd is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self._path)  # still under the lock: see `_acquire_local`
                os.close(self._fd)
                self._fd = None
                if self._created_dir:
                    with contextlib.suppress(OSError):
                        os.rmdir(self._root)  # only if empty
            elif holder is not None and not self.lost:
                try:
                    current = self._read_remote()
                except (OSError, pa.ArrowException) as error:  # the run's own error (if any) matters more: say this, go on
                    logger.warning(
                        "Cannot remove the lease of `%s` (%s); it expires %.0f s after its last heartbeat.",
                        self.shown,
                        redact(str(error)),
                        self.ttl,
                    )
                    return
                if current is not None and current.token == holder.token:
                    with contextlib.suppress(OSError, pa.ArrowException):
                        self._fs.delete_file(self._path)

    def __enter__(self) -> RunLease:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    # -- heartbeat ---------------------------------------------------------------------
    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            try:
                self.renew()
            except (OSError, pa.ArrowException) as error:  # a storage hiccup: the next beat tries again
                logger.warning(
                    "Cannot renew the lease of `%s` (%s); trying again in %.0f s.", self.shown, redact(str(error)), self.heartbeat
                )

    def renew(self) -> None:
        """Write a fresh heartbeat (and, on non-local filesystems, a new expiry)."""
        with self._write_lock:
            if self._holder is None or self.lost:
                return
            now = time.time()
            self._holder = dataclasses.replace(self._holder, heartbeat_at=now, expires_at=now + self.ttl, children=tuple(descendants()))
            if self._local:
                self._write_local(self._holder)
                return
            current = self._read_remote()
            if current is not None and current.token != self._holder.token:
                self.lost = True
                logger.error(
                    "The lease of `%s` was taken by another driver (%s) while this one ran: its writes may clash. Stop one of them.",
                    self.shown,
                    current.describe(),
                )
                return
            self._write_remote(self._holder)

    # -- internals ---------------------------------------------------------------------
    def _write_local(self, holder: Holder) -> None:
        assert self._fd is not None
        data = holder.to_json()
        os.pwrite(self._fd, data, 0)
        os.ftruncate(self._fd, len(data))
        os.fsync(self._fd)

    def _write_remote(self, holder: Holder) -> None:
        with self._fs.open_output_stream(self._path) as stream:
            stream.write(holder.to_json())

    def _read_remote(self) -> Holder | None:
        try:
            with self._fs.open_input_stream(self._path) as stream:
                return Holder.from_json(stream.read())
        except FileNotFoundError:
            return None
        except (OSError, pa.ArrowException):
            if self._fs.get_file_info(self._path).type == pafs.FileType.NotFound:
                return None
            raise

    def _live_remote(self, holder: Holder) -> bool:
        if holder.expires_at < time.time():
            return False
        return not (holder.host == socket.gethostname() and not process_alive(holder.pid, holder.started_at))

    def _only_lease(self) -> bool:
        try:
            entries = self._fs.get_file_info(pafs.FileSelector(self._root))
        except (OSError, pa.ArrowException):
            return False
        return [e.base_name for e in entries] == [LEASE_FILE]

    def _refusal(self, holder: Holder | None) -> RunLockedError:
        who = holder.describe() if holder is not None else "a driver whose lease is being written"
        gone = (
            "a driver that dies frees it at once"
            if self._local
            else f"a driver that dies frees it when its lease expires ({self.ttl:.0f} s after its last heartbeat)"
        )
        stop = f" (`kill {holder.pid}` on {holder.host})" if holder is not None else ""
        return RunLockedError(
            f"Run directory `{self.shown}` is in use by another paretosweep driver: {who}. Only one driver may "
            f"write a run. Wait for it to finish or stop it{stop}, then run again with --resume; {gone}. "
            "To run beside it, set `storage` (--storage) to another directory."
        )


def _try_flock(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _read_fd(fd: int) -> Holder | None:
    chunks = []
    offset = 0
    while True:
        chunk = os.pread(fd, 65536, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return Holder.from_json(b"".join(chunks))


def lease_holder(run_dir: str, *, filesystem: pafs.FileSystem | None = None) -> Holder | None:
    """The holder a run directory's lease names, if any (live or not); for status displays."""
    fs, root = resolve(run_dir, filesystem)
    path = join(fs, root, LEASE_FILE)
    try:
        with fs.open_input_stream(path) as stream:
            return Holder.from_json(stream.read())
    except (OSError, pa.ArrowException):
        return None
