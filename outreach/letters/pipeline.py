"""Rendering a batch of letters, in a second process when it is large:
:func:`render_jobs` is the one way in.

A large batch is rendered in a forked process that sends the letters back as
it makes them, while this one compares and stores them; should that process
fail in any way, this one renders what it did not send.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from outreach.letters.jobs import Job
from outreach.letters.renderer import Renderer
from outreach.letters.results import Progress
from outreach.templating import Rendered, TemplateError

#: Batches smaller than this render in one process: starting another would
#: cost more than it saves.
PARALLEL_MIN = 1000
#: Letters per message from the rendering process.
PIPE_CHUNK = 200


class TemplateInfo(NamedTuple):
    """What is recorded about the template a letter was rendered from."""

    language: str
    filename: str
    hash: str


def _pipeline_ok(count: int) -> bool:
    """Whether to render *count* letters in a second process: for large
    batches, with a second CPU, where a process can be forked safely."""
    if count < PARALLEL_MIN or not hasattr(os, "fork") or sys.platform == "darwin":
        return False
    if threading.active_count() > 1:  # forking a process with threads is unsafe
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity
        cpus = os.cpu_count() or 1
    return cpus > 1


def scaled(progress: Progress | None, part: int, whole: int) -> Progress | None:
    """*progress* over *whole* recipients, called with counts of the *part*
    that get a letter (the skipped ones need no rendering)."""
    if progress is None or part == whole or not part:
        return progress
    return lambda done, _part: progress(done * whole // part, whole)


def render_jobs(
    renderer: Renderer, jobs: Sequence[Job], progress: Progress | None
) -> Iterator[tuple[Any, Any]]:
    """Each job's (template, rendered letter), in the jobs' order.

    A large batch is rendered in a forked process that sends the letters back
    as it makes them, while this one compares and stores them: rendering and
    storing, about equal work, then run side by side on two CPUs. Should that
    process fail in any way, or meet a template error, this one renders what
    it did not send, so the result (or the error, naming its template, line
    and recipient) is the same as rendering here."""
    count = len(jobs)
    step = max(count // 100, 1)
    done = 0
    if _pipeline_ok(count):
        pid, fd = _fork_renderer(renderer, jobs)
        finished = False
        try:
            with open(fd, "rb") as stream:
                for templates, letters in _messages(stream):
                    for language, subject, body, fallbacks in letters:
                        yield templates[language], Rendered(subject, body, fallbacks)
                        if progress is not None and done % step == 0:
                            progress(done, count)
                        done += 1
            finished = True
        finally:
            _end_helper(pid, kill=not finished)
    for i in range(done, count):
        yield renderer.render(jobs[i])
        if progress is not None and i % step == 0:
            progress(i, count)


def _fork_renderer(renderer: Renderer, jobs: Sequence[Job]) -> tuple[int, int]:
    """Fork a process that renders *jobs* in order and writes them to a pipe,
    PIPE_CHUNK at a time, as pickled ({language: TemplateInfo}, [(language,
    subject, body, fallbacks), ...]); it stops at the first template error. Returns
    (process id, read end of the pipe)."""
    read_fd, write_fd = os.pipe()
    with contextlib.suppress(AttributeError, OSError):
        # a larger pipe (Linux), so the renderer seldom waits for the reader
        import fcntl

        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    pid = os.fork()
    if pid:
        os.close(write_fd)
        return pid, read_fd
    # The rendering process. It never returns, never touches the database
    # connection it inherited, and leaves with os._exit, so nothing of the
    # parent's (connections, buffered output, atexit hooks) is closed or
    # flushed twice.
    status = 1
    try:
        # A host application's handlers are not this process's business, and
        # the inherited connections must not outlive the parent: close every
        # descriptor but the pipe and the standard three.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.closerange(3, write_fd)
        os.closerange(write_fd + 1, _max_fd())
        with open(write_fd, "wb") as pipe:
            templates: dict[str, TemplateInfo] = {}
            letters: list[tuple[str, str, str, tuple[tuple[str, str], ...]]] = []
            limit = PIPE_CHUNK // 8  # a small first message: the parent starts sooner
            for job in jobs:
                try:
                    compiled, text = renderer.render(job)
                except TemplateError:
                    break  # the parent renders from here and reports the error
                language = compiled.language
                if language not in templates:
                    templates[language] = TemplateInfo(language, compiled.filename, compiled.hash)
                letters.append((language, text.subject, text.body, text.fallbacks))
                if len(letters) >= limit:
                    pickle.dump((templates, letters), pipe, protocol=pickle.HIGHEST_PROTOCOL)
                    letters = []
                    limit = PIPE_CHUNK
            if letters:
                pickle.dump((templates, letters), pipe, protocol=pickle.HIGHEST_PROTOCOL)
        status = 0
    finally:
        os._exit(status)


def _max_fd() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 1 << 20)
    except (AttributeError, ValueError, OSError):  # pragma: no cover
        return 4096


def _messages(stream: Any) -> Iterator[tuple[dict[str, TemplateInfo], list[Any]]]:
    """The messages a rendering process wrote, up to the end of the pipe or
    the first damaged one (a process killed half-way)."""
    while True:
        try:
            message = pickle.load(stream)
        except Exception:  # EOFError at the end; anything else: cut short
            return
        yield message


def _end_helper(pid: int, *, kill: bool) -> None:
    """Wait for a rendering process to end, first stopping it if its letters
    are no longer wanted."""
    if kill:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.waitpid(pid, 0)
