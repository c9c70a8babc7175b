"""Security headers, CSRF tokens and the sign-in rate limit.

- Every response carries a Content Security Policy with `script-src 'self'` and
  `frame-ancestors 'none'` (no inline script runs, the app cannot be framed), plus
  `nosniff`, `same-origin` referrers and, for pages, `no-store`.
- Every state-changing request (not GET/HEAD/OPTIONS) carries the session's CSRF token,
  as the form field `csrf_token` or the `X-CSRF-Token` header (htmx and fetch send the
  header); otherwise 403. Tokens are compared in constant time.
- Failed sign-ins are counted per email and per client address in a sliding window;
  past the limit the answer is 429 until the window has moved on. The counts live in
  this process (`course serve` is one process).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request
from starlette.responses import Response

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "font-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'",
    "form-action 'self'", "frame-ancestors 'none'"])


async def security_headers(request: Request,
                           call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """HTTP middleware: the headers above on every response."""
    response = await call_next(request)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if not request.url.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def csrf_protect(request: Request) -> None:
    """Dependency of every router: a state-changing request must carry the token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        kind = request.headers.get("content-type", "")
        if kind.startswith("multipart/form-data"):
            # files are read only by `app.web.uploads.read_upload`, bounded, which checks
            # the token itself; a multipart body is never parsed unbounded here
            raise HTTPException(415, "this form takes no files; reload the page and try again")
        if kind.startswith("application/x-www-form-urlencoded"):
            sent = (await request.form()).get(CSRF_FIELD)
    check_csrf(request, sent)


def check_csrf(request: Request, sent: object) -> None:
    """403 unless `sent` is the session's CSRF token (the one rule for forms and uploads)."""
    expected = request.session.get("csrf")
    if not expected or not isinstance(sent, str) \
            or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(403, "the form has expired or came from another site; reload the "
                                 "page and try again")


class LoginLimiter:
    """Sliding-window counts of failed sign-ins per key (thread-safe)."""

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        times = self._failures[key]
        cutoff = self.clock() - self.window_s
        while times and times[0] <= cutoff:
            times.popleft()
        return times

    def retry_after(self, key: str, limit: int) -> float:
        """Seconds until `key` may try again (0 when it may now)."""
        with self._lock:
            times = self._recent(key)
            if len(times) < limit:
                return 0.0
            return max(0.0, times[len(times) - limit] + self.window_s - self.clock())

    def failed(self, key: str) -> None:
        with self._lock:
            self._recent(key).append(self.clock())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
